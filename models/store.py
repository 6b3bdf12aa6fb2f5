"""The store: one SQLite file on a laptop, or a PostgreSQL database at the office.

The one dialect-aware place (STYLE.md pattern 7's sibling for databases): pragmas, integrity
checks, file backups and deferred foreign keys differ between the two backends here and
nowhere else; everything above it speaks SQLAlchemy and sees the same types on both.
"""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect as sa_inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import models.flush_hooks  # every session gets stamped, guarded and audited
import models.tables  # noqa: F401  (every table mapped before the first query)
from models.errors import StoreError
from models.paths import DB_FILENAME, device_id

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision. Checked against Alembic's own view in the tests; lets a
# start-up with an up-to-date file skip importing Alembic (~0.1 s on a laptop).
SCHEMA_HEAD = "0006_search"
BACKUPS_KEPT = 5


def _set_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it is acknowledged, so a dead battery loses nothing.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def make_engine(db_path: Path) -> Engine:
    engine = create_engine(f"sqlite+pysqlite:///{db_path}")
    event.listen(engine, "connect", _set_pragmas)
    return engine


# --------------------------------------------------------------------------- the office server

SERVER_HINT = "请确认 PostgreSQL 服务已启动、连接地址正确（见 README「办公室：PostgreSQL」），或去掉 --database-url 使用本机数据"


def server_url(raw: str):
    """The URL given by --database-url / FIELDCHECK_DATABASE_URL, for the psycopg 3 driver."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"数据库地址格式不对：{raw}",
                         "例如 postgresql+psycopg://fc@/fieldcheck?host=/run/postgresql") from exc
    if url.get_backend_name() != "postgresql":
        raise StoreError(f"数据库地址 {url.render_as_string(hide_password=True)} 不是 PostgreSQL",
                         "办公室数据库请用 postgresql+psycopg://用户@主机/数据库；笔记本电脑不用 --database-url")
    if url.drivername == "postgresql" or url.get_driver_name() == "psycopg2":
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_server_engine(raw_url: str) -> Engine:
    # pool_pre_ping: a server restarted overnight costs the GUI one reconnect, not an error.
    return create_engine(server_url(raw_url), pool_pre_ping=True,
                         connect_args={"connect_timeout": 10, "application_name": "FieldCheck"})


def where(engine: Engine) -> str:
    """The database for messages: the file, or the server URL without its password."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.render_as_string(hide_password=True)


_SERVER_REFUSALS = (
    ("password authentication failed", "数据库服务器拒绝登录（口令不对）",
     "请检查连接地址中的用户名和口令，或 pg_hba.conf 的设置"),
    ("no password supplied", "数据库服务器要求口令，连接地址中没有",
     "请在连接地址中写上口令（postgresql+psycopg://用户:口令@主机/数据库），或使用 ~/.pgpass"),
    ("peer authentication failed", "数据库服务器拒绝登录（本机用户名与数据库用户名不同）",
     "请以同名的系统用户运行，或在 pg_hba.conf 中为该用户设置口令登录"),
    ("role", "数据库服务器上没有该用户",
     "请按 README「办公室：PostgreSQL」一节用 createuser 创建该用户"),
    ("database", "数据库服务器上没有该数据库",
     "请按 README「办公室：PostgreSQL」一节用 createdb 创建该数据库"),
    ("no pg_hba.conf entry", "数据库服务器不允许从本机登录",
     "请在服务器的 pg_hba.conf 中允许本机连接后重新加载配置"),
)


def server_unreachable(engine: Engine, exc: BaseException) -> StoreError:
    """A server that is down, refuses the login or lacks the database: one line, what to do."""
    detail = _one_line(exc)
    low = detail.lower()
    for needle, message, hint in _SERVER_REFUSALS:
        if needle in low and (needle not in ("role", "database") or "does not exist" in low):
            return StoreError(f"{message}：{where(engine)}（{detail}）", hint)
    return StoreError(f"无法连接数据库服务器 {where(engine)}（{detail}）", SERVER_HINT)


def _server_revision(conn) -> str | None:
    if not sa_inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# One number for "someone is migrating this database": two clerks starting FieldCheck on a new
# database at the same moment create the schema once, the second waits and finds it done.
_MIGRATION_LOCK = 0x46430001
_IMPORT_LOCK = 0x46430002


def migrate_server(engine: Engine, *, upgrade: bool = False,
                   script_location: Path = MIGRATIONS_DIR) -> bool:
    """An empty database gets the schema; an older one is refused unless `upgrade` (the
    `migrate` command, after a backup). PostgreSQL runs DDL in the transaction, so a failed
    migration leaves the database exactly as it was. Returns True when something was done."""
    try:
        conn = engine.connect()
    except OperationalError as exc:
        raise server_unreachable(engine, exc) from exc
    with conn:
        if script_location == MIGRATIONS_DIR:  # the usual start: up to date, no Alembic import
            current = _server_revision(conn)
            conn.rollback()
            if current == SCHEMA_HEAD:
                return False
        from alembic import command
        from alembic.script import ScriptDirectory
        cfg = _alembic_config(script_location)
        script = ScriptDirectory.from_config(cfg)
        head = script.get_current_head()
        with conn.begin():
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            current = _server_revision(conn)
            if current == head:
                return False
            known = {r.revision for r in script.walk_revisions()}
            if current is not None and current not in known:
                raise StoreError(
                    f"数据库 {where(engine)} 由更新版本的 FieldCheck 创建（结构版本 {current}），本版本无法使用",
                    "请安装最新版本的 FieldCheck 后再连接")
            if current is not None and not upgrade:
                raise StoreError(
                    f"数据库 {where(engine)} 的结构是旧版本（{current}，本程序需要 {head}）",
                    "请先备份（python main.py backup --out 文件夹），再运行 python main.py migrate "
                    "（加同样的 --database-url）升级后重新启动")
            if current is None and sa_inspect(conn).get_table_names():
                raise StoreError(f"数据库 {where(engine)} 中已有其他程序的表，不是 FieldCheck 数据库",
                                 "请为 FieldCheck 新建一个空数据库（createdb）后再连接")
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            except Exception as exc:
                raise StoreError(
                    f"数据库升级失败，已恢复为升级前的状态（{_one_line(exc)}）",
                    "数据未受影响；请把该信息发给技术支持，并继续使用旧版本程序") from exc
    return True


def begin_import(session: Session, sender: str | None = None, *, alone: bool = False) -> None:
    """Open the import's transaction with foreign keys checked at the commit (a re-inspection
    may sort before its original): SQLite's defer_foreign_keys, PostgreSQL's SET CONSTRAINTS
    (its foreign keys are DEFERRABLE since migration 0004_office).

    PostgreSQL, several clerks at once: bundles of one sending device are imported one after
    another (its chain, its records); bundles of different devices side by side. What they
    share (the register, checklists, relayed chains) is caught by the database itself — a
    unique key, a foreign key or a changed row (sync.merge's guarded updates) — and the
    import that lost the race is made again `alone`: it waits until the imports under way
    have committed and plans on what they wrote, exactly as one after another."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        # pysqlite opens a transaction only at the first write, and any statement outside one
        # switches defer_foreign_keys off again: open it now, so the plan is made on one
        # snapshot. Deferred, not IMMEDIATE: the write lock is taken only after the files are
        # checked, so the team can go on saving meanwhile.
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    else:
        conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")
        if sender:
            lock_for_device(session, sender)
        # Shared by the imports side by side; an import made alone takes it exclusively.
        # Readers are never blocked: an advisory lock stops only imports.
        lock = "pg_advisory_xact_lock" if alone else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {lock}(:k)"), {"k": _IMPORT_LOCK})


@contextmanager
def hold_imports(store: "Store"):
    """PostgreSQL: wait for the imports under way and hold new ones off meanwhile (the import
    lock, exclusively, in a transaction of its own); SQLite: nothing to wait for."""
    if store.backend != "postgresql":
        yield
        return
    with store.engine.connect() as conn, conn.begin():
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
        yield


def import_lost_race(exc: BaseException) -> bool:
    """An import on the server that met another import's rows (a unique or foreign key
    taken meanwhile, a deadlock between the two): nothing was saved, and made again alone
    it sees what the other wrote. SQLite serializes writers itself: never there."""
    for err in (exc, exc.__cause__):
        if isinstance(err, (IntegrityError, OperationalError)) and err.orig is not None:
            sqlstate = getattr(err.orig, "sqlstate", None) or ""
            # 23: integrity (unique, foreign key); 40001 serialization; 40P01 deadlock
            if sqlstate.startswith("23") or sqlstate in ("40001", "40P01"):
                return True
    return False


def lock_for_device(session: Session, device: str) -> None:
    """Serialize writers of one device's records and audit chain until the transaction ends
    (PostgreSQL: a transaction-scoped advisory lock; readers are never blocked by it). SQLite
    serializes all writers by itself."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:d, 0))"), {"d": device})


def quick_check(db_path: Path) -> None:  # SQLite only: the server checks its own pages
    """Refuse a damaged file with a message that says what to do."""
    if not db_path.exists() or db_path.stat().st_size == 0:
        return
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise _damaged(db_path, str(exc)) from exc
    if rows != [("ok",)]:  # one line: SQLite's own report spans several
        raise _damaged(db_path, "; ".join(" ".join(r[0].split()) for r in rows[:3]))


_SQLITE_HEADER = b"SQLite format 3\x00"


def check_header(db_path: Path) -> None:
    """The cheap part of the check, on the way to the first screen: a file that is no SQLite
    database at all is refused at once. quick_check reads every page (0.6–1 s at 100k
    inspections): the GUI runs it after the data is shown (ui.app), the commands before."""
    if not db_path.exists() or db_path.stat().st_size == 0:
        return
    with open(db_path, "rb") as fh:
        head = fh.read(len(_SQLITE_HEADER))
    if head != _SQLITE_HEADER:
        raise _damaged(db_path, "文件头不是 SQLite 数据库")


def damaged_page(exc: BaseException, db_path: Path) -> StoreError | None:
    """A damaged page met while working (the full check not yet run): the damaged-file
    message; None for anything else (a lock, a constraint: not damage)."""
    orig = getattr(exc, "orig", None)
    if isinstance(exc, DatabaseError) and type(orig) is sqlite3.DatabaseError:
        return _damaged(db_path, _one_line(exc))
    return None


def _damaged(db_path: Path, detail: str) -> StoreError:
    backups = sorted((db_path.parent / "backups").glob("*.db"))
    restore = (f"最近的备份在 {backups[-1]}，可将它复制为 fieldcheck.db 后重新启动，或联系技术支持"
               if backups else "备份文件夹中没有可用备份，请联系技术支持")
    return StoreError(
        f"数据库文件已损坏，无法打开：{db_path}（{detail}）",
        f"请先退出程序，把该文件复制保存（供技术支持分析）；{restore}",
    )


def _one_line(exc: BaseException) -> str:
    """The driver's own message, first line only (SQLAlchemy appends the SQL and a link)."""
    inner = getattr(exc, "orig", None) or exc
    lines = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {lines[0] if lines else ''}"


def _stored_revision(db_path: Path) -> str | None:
    if not db_path.exists():
        return None
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        con.close()
    return row[0] if row else None


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(sa_inspect(conn).get_table_names())


def _alembic_config(script_location: Path):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    return cfg


def backup_database(db_path: Path, label: str) -> Path:
    """Copy the database aside through SQLite's backup API (consistent even with WAL)."""
    folder = db_path.parent / "backups"
    folder.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"fieldcheck-{stamp}-{label}.db"
    src, dst = sqlite3.connect(db_path), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    for old in sorted(folder.glob("fieldcheck-*.db"))[:-BACKUPS_KEPT]:
        old.unlink()
    return target


def restore_database(backup: Path, db_path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    tmp = db_path.with_suffix(".restoring")
    shutil.copyfile(backup, tmp)
    tmp.replace(db_path)


def migrate(engine: Engine, db_path: Path, script_location: Path = MIGRATIONS_DIR) -> Path | None:
    """Bring the schema to head; copy the file aside first and put it back on failure.

    Returns the backup made, or None when nothing needed doing.
    """
    if script_location == MIGRATIONS_DIR and _stored_revision(db_path) == SCHEMA_HEAD:
        return None
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    cfg = _alembic_config(script_location)
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return None
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise StoreError(
            "数据库由更新版本的 FieldCheck 创建，本版本无法使用",
            "请安装最新版本的 FieldCheck 后再打开",
        )
    # Only a file with no tables at all holds nothing to lose; any other is copied aside first.
    backup = backup_database(db_path, f"before-{head}") if _has_tables(engine) else None
    try:
        _upgrade_without_fk_enforcement(engine, cfg, command)
    except Exception as exc:
        engine.dispose()
        if backup is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        else:
            restore_database(backup, db_path)
        raise StoreError(
            f"数据库升级失败，已恢复为升级前的状态（{_one_line(exc)}）",
            f"数据未受影响；请把备份 {backup or db_path} 发给技术支持，并继续使用旧版本程序",
        ) from exc
    return backup


_KNOWN_STORAGE = (
    ("full", "磁盘空间已满，刚才的修改没有保存", "请删除不需要的文件、腾出空间后重试；已保存的数据不受影响"),
    ("readonly", "数据文件夹只读，刚才的修改没有保存", "请把数据文件夹放到可写的位置（或用 --data-dir 指定）后重试"),
    ("read-only", "数据文件夹只读，刚才的修改没有保存", "请把数据文件夹放到可写的位置（或用 --data-dir 指定）后重试"),
    ("locked", "数据库正被另一个 FieldCheck 窗口使用", "请关闭其他 FieldCheck 窗口后重试"),
    ("disk i/o", "读写磁盘出错，刚才的修改没有保存", "请检查U盘或硬盘是否已拔出，然后重试"),
)


def concurrent_write(exc: BaseException) -> bool:
    """The StoreError of a transaction that lost to another writer on the same store (SQLite's
    lock, or this device's audit chain moved on): nothing was saved, running it again works."""
    cause = exc.__cause__
    return (isinstance(cause, IntegrityError) and _chain_clash(cause)) or (
        isinstance(cause, OperationalError) and "locked" in str(cause).lower())


def _chain_clash(exc: IntegrityError) -> bool:
    text_ = str(exc.orig)
    return ("audit_event.device_id, audit_event.seq" in text_           # SQLite
            or "uq_audit_event_device_id" in text_)                     # PostgreSQL


_KNOWN_SERVER = (
    ("server closed the connection", "与数据库服务器的连接中断，刚才的修改没有保存",
     "请确认服务器正在运行、网络已连通后重试"),
    ("connection refused", "无法连接数据库服务器，刚才的修改没有保存", "请确认服务器正在运行后重试"),
    ("terminating connection", "数据库服务器正在关闭，刚才的修改没有保存", "请稍后服务器恢复后重试"),
    ("no space left", "数据库服务器磁盘已满，刚才的修改没有保存", "请联系管理员腾出服务器磁盘空间后重试"),
    ("deadlock detected", "数据正被另一项操作同时修改，本次保存未完成", "请稍候片刻后重试"),
)


def known_storage_error(exc: OperationalError) -> StoreError | None:
    """The user's environment (disk full, read-only, locked) as a StoreError; None for our bugs."""
    text = str(getattr(exc, "orig", exc)).lower()
    for needle, message, hint in _KNOWN_STORAGE + _KNOWN_SERVER:
        if needle in text:
            return StoreError(message, hint)
    return None


def _upgrade_without_fk_enforcement(engine: Engine, cfg, command) -> None:
    """Run the migrations with foreign keys off, then check them all before committing.

    SQLite alters a table by copying it and dropping the old one, which enforced foreign keys
    forbid (Alembic "batch" mode); the check afterwards proves nothing was left dangling.
    """
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only outside a transaction
        conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            from models.search import ensure_sqlite_search
            ensure_sqlite_search(conn)  # a batch migration may have copied a searched table
            dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if dangling:
                raise RuntimeError(f"foreign key check failed after migration: {dangling[:3]}")
            conn.commit()
        finally:
            conn.rollback()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


class Store:
    """An opened data folder: the database, the photo folder, this device's id."""

    def __init__(self, data_dir: Path, engine: Engine, device: str) -> None:
        # db_path: the SQLite file; at the office (engine on PostgreSQL) the data folder
        # holds only photos, documents and keys, and db_path is never created.
        self.data_dir = data_dir
        self.db_path = data_dir / DB_FILENAME
        self.photos_dir = data_dir / "photos"
        self.engine = engine
        self.device_id = device
        self.clock: Callable[[], datetime] | None = None  # tests inject a fixed clock
        self.recovered_note: str | None = None  # set when the store was found rolled back
        self.instance_lock = None  # models.leftovers.InstanceLock, set by start_store
        self.removed_leftovers: list[Path] = []  # what the start found a crash had left
        self._sessions = sessionmaker(engine, class_=models.flush_hooks.GuardedSession,
                                      expire_on_commit=False)

    @property
    def backend(self) -> str:
        """"sqlite" on a laptop, "postgresql" at the office."""
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        return where(self.engine)

    def session(self, actor: str | None = None, label: str = "") -> Session:
        s = self._sessions()
        s.info.update(device_id=self.device_id, actor=actor, label=label, clock=self.clock,
                      data_dir=self.data_dir)
        return s

    @contextmanager
    def transaction(self, actor: str | None = None, label: str = "") -> Iterator[Session]:
        """One unit of work: committed (and on disk) when the block ends, else rolled back."""
        try:
            with self.session(actor, label) as s, s.begin():
                yield s
        except OperationalError as exc:
            known = known_storage_error(exc)
            if known is None:
                raise
            raise known from exc
        except IntegrityError as exc:
            if not _chain_clash(exc):
                raise
            # Another writer on this folder (an import, a second window) took the same place
            # in the chain between this one's read and its write: nothing was saved.
            raise StoreError("数据正被另一项操作（如导入）同时修改，本次保存未完成",
                             "请稍候片刻后重试") from exc
        except DatabaseError as exc:
            # A damaged page met before the check behind the first screen found it (ui.app).
            damaged = damaged_page(exc, self.db_path) if self.backend == "sqlite" else None
            if damaged is None:
                raise
            raise damaged from exc

    def close(self) -> None:
        self.engine.dispose()
        if self.instance_lock is not None:
            self.instance_lock.release()
            self.instance_lock = None


def open_store(data_dir: Path, database_url: str | None = None, *, upgrade: bool = False,
               full_check: bool = True) -> Store:
    """Check, back up, migrate and open the store in `data_dir` — or, given `database_url`,
    the office's PostgreSQL database with `data_dir` for the files. `full_check` False: only
    the file's header now; the caller runs quick_check later (the GUI, after the first screen)."""
    if database_url:
        engine = make_server_engine(database_url)
        try:
            migrate_server(engine, upgrade=upgrade)
        except BaseException:
            engine.dispose()
            raise
        return Store(data_dir, engine, device_id(data_dir))
    db_path = data_dir / DB_FILENAME
    (quick_check if full_check else check_header)(db_path)
    engine = make_engine(db_path)
    try:
        migrate(engine, db_path)
        _apply_agency_zone(engine)
    except StoreError:
        engine.dispose()
        raise
    except DatabaseError as exc:
        engine.dispose()
        damaged = damaged_page(exc, db_path)
        if damaged is None:
            raise
        raise damaged from exc
    return Store(data_dir, engine, device_id(data_dir))


def _apply_agency_zone(engine: Engine) -> None:
    """Every date shown from now on is on this agency's clock (models.local_time)."""
    from models.local_time import use_agency_zone
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT time_zone FROM agency_settings LIMIT 1").first()
    try:
        use_agency_zone(row[0] if row else None)
    except Exception:  # noqa: BLE001 — a zone this computer does not know: keep the default
        use_agency_zone(None)
