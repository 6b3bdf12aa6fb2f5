"""Stores for the tests: built once per run, copied per test, on SQLite or PostgreSQL.

Every test used to migrate a fresh store (≈0.2 s each, half of the suite). Now each kind of
store ("role": the test's own store, the office, a second laptop) is migrated and its
checklists loaded once per run; a test gets a copy of that data folder (a file copy) and, on
PostgreSQL, a database made from the role's template database (CREATE DATABASE … TEMPLATE).

`--backend postgresql` starts a throwaway server with pytest-postgresql's executor around
pg_ctl (no systemd). pg_ctl refuses to run as root, and CI runs as root: the wrapper
tests/support/pg_ctl_as_postgres then runs it as the postgres user, on a folder owned by it.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from pathlib import Path

from models.paths import DATABASE_FILE, DB_FILENAME, write_json

PG_CTL = os.environ.get("FIELDCHECK_PG_CTL", "/usr/lib/postgresql/15/bin/pg_ctl")
PG_CTL_WRAPPER = Path(__file__).with_name("pg_ctl_as_postgres")
# A throwaway server: nothing it holds must survive a power cut, so it may skip the fsyncs.
PG_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


class PostgresServer:
    """One PostgreSQL server for the test run, on a Unix socket in its own folder."""

    def __init__(self, options: str = PG_OPTIONS) -> None:
        from port_for import get_port
        from pytest_postgresql.executors import PostgreSQLExecutor
        if not Path(PG_CTL).is_file():
            raise RuntimeError(f"未找到 {PG_CTL}：请安装 postgresql-15（bash dev.sh test 会自动安装），"
                               "或用环境变量 FIELDCHECK_PG_CTL 指定 pg_ctl")
        # tempfile's folder, not pytest's basetemp: that is private to root (0700), and the
        # server runs as postgres when the tests run as root.
        self.folder = Path(tempfile.mkdtemp(prefix="fieldcheck-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.port = get_port(None)
        self._admin = None
        self._dropper = None
        # The wrapper runs FIELDCHECK_PG_CTL if set, else Debian's pg_ctl (PG_CTL).
        self.executor = PostgreSQLExecutor(
            executable=str(PG_CTL_WRAPPER), host="127.0.0.1", port=self.port,
            datadir=str(self.folder / "data"), unixsocketdir=str(self.folder),
            logfile=str(self.folder / "server.log"), startparams="-w", dbname="postgres",
            user="postgres", postgres_options=options)
        self.executor.start()
        self._wait_until_ready()
        self._names = itertools.count(1)

    def _wait_until_ready(self, seconds: float = 30) -> None:
        """pg_ctl -w returns when the port answers; "the database system is starting up" may
        still refuse the first logins for a moment."""
        import time

        import psycopg
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.admin("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.folder}&port={self.port}"

    def _connect(self):
        import psycopg
        return psycopg.connect(host=str(self.folder), port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)

    def admin(self, sql: str) -> None:
        if self._admin is None:
            self._admin = self._connect()
        self._admin.execute(sql)

    def new_database(self, template: str | None = None) -> str:
        name = f"fc_{os.getpid()}_{next(self._names)}"
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Dropped behind the next test's back (a thread of its own): the test waits for
        nothing, and the disk holds only a few databases at a time."""
        if self._dropper is None:
            import queue
            import threading
            self._drops = queue.Queue()
            self._dropper = threading.Thread(target=self._drop_loop, daemon=True)
            self._dropper.start()
        self._drops.put(name)

    def _drop_loop(self) -> None:
        conn = self._connect()
        while (name := self._drops.get()) is not None:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    def stop(self) -> None:
        if self._dropper is not None:
            self._drops.put(None)
            self._dropper.join(timeout=60)
        if self._admin is not None:
            self._admin.close()
        try:
            self.executor.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class StoreMaker:
    """Opens stores for tests from per-role templates; a folder on the server remembers its
    database (database.json, as the first start with --database-url leaves it), so a
    reopen, the CLI or the GUI in the test finds it again."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.root = root
        self._server: PostgresServer | None = None
        self._templates: dict[str, tuple[Path, str | None]] = {}
        self._built: dict[str, object] = {}
        self._databases: list[str] = []

    @property
    def server(self) -> PostgresServer:
        if self._server is None:
            self._server = PostgresServer()
        return self._server

    def _template(self, role: str, on_server: bool) -> tuple[Path, str | None]:
        from models.startup import start_store
        key = f"{role}@{'pg' if on_server else 'sqlite'}"
        if key not in self._templates:
            folder = self.root / key
            database = self.server.new_database() if on_server else None
            store = start_store(folder, self.server.url(database) if on_server else None)
            store.close()
            self._templates[key] = (folder, database)
        return self._templates[key]

    def open(self, folder: Path, role: str = "store", *, server: bool | None = None):
        """A store in `folder`, migrated and with checklists, as start_store leaves it;
        on the server when `server` (default: the backend under test)."""
        on_server = self.backend == "postgresql" if server is None else server
        return self._copy_of(*self._template(role, on_server), folder, on_server)[0]

    def open_built(self, folder: Path, name: str, build, *, server: bool | None = None):
        """(store, result): a copy of the store that `build(store)` filled, built once per
        run under `name` (records and data folder both copied; `result`, e.g. ids, is what
        build returned). For set-ups that render and sign documents: seconds a test."""
        on_server = self.backend == "postgresql" if server is None else server
        key = f"built-{name}@{'pg' if on_server else 'sqlite'}"
        if key not in self._templates:
            template = self.root / key
            store, database = self._copy_of(*self._template("store", on_server), template,
                                            on_server, keep=True)
            try:
                result = build(store)
            except BaseException:
                store.close()
                shutil.rmtree(template, ignore_errors=True)  # the next test builds it anew
                raise
            store.close()
            self._templates[key] = (template, database)
            self._built[key] = result
        return self._copy_of(*self._templates[key], folder, on_server)[0], self._built[key]

    def open_case(self, folder: Path, name: str, build, clock):
        """open_built for a case whose `build` returns (…, the time it ended): the copy, on
        `clock` set to that time; (store, the rest of what build returned)."""
        store, (*made, now) = self.open_built(folder, name, build)
        clock.now = now
        store.clock = clock
        return store, made

    def case_or_fresh(self, request, folder: Path, clock):
        """(store, whether the test must close it): a test that asks for `issued` gets the
        store of its module's `issued_case`; any other a fresh one on `clock`."""
        if "issued" in request.fixturenames:
            return request.getfixturevalue("issued_case")[0], False
        store = self.open(folder)
        store.clock = clock
        return store, True

    def _copy_of(self, template: Path, template_db: str | None, folder: Path, on_server: bool,
                 *, keep: bool = False):
        """(store, its database): a store in a copy of the data folder `template`, its records
        copied from the database `template_db` on the server (dropped after the test unless
        `keep`)."""
        from models.startup import start_store
        shutil.copytree(template, folder)
        url = database = None
        if on_server:
            database = self.server.new_database(template_db)
            if not keep:
                self._databases.append(database)
            url = self.server.url(database)
            write_json(Path(folder) / DATABASE_FILE, {"url": url})
        return start_store(folder, url), database

    def open_copy(self, source: Path, folder: Path, role: str = "store"):
        """A copy of the data folder `source` (its keys, trust files …). On the server its
        SQLite records stay behind: the records start from the role's migrated database."""
        from models.startup import start_store
        shutil.copytree(source, folder)
        if self.backend != "postgresql":
            return start_store(folder)
        from models.chain_anchor import HEAD_FILE
        # The records and what describes them (the chain head kept beside them) stay behind.
        for name in (DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", HEAD_FILE):
            (Path(folder) / name).unlink(missing_ok=True)
        _, template_db = self._template(role, True)
        database = self.server.new_database(template_db)
        self._databases.append(database)
        url = self.server.url(database)
        write_json(Path(folder) / DATABASE_FILE, {"url": url})
        return start_store(folder, url)

    def empty_database(self) -> str:
        """The URL of a new empty database on the test server (dropped after the test)."""
        database = self.server.new_database()
        self._databases.append(database)
        return self.server.url(database)

    def end_test(self) -> None:
        databases, self._databases = self._databases, []
        for name in databases:
            self.server.drop_database(name)

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
