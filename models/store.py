"""The local store: one SQLite file, checked and migrated at start, opened crash-safe."""
from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

import models.flush_hooks  # noqa: F401  (every session gets stamped, guarded and audited)
import models.tables  # noqa: F401  (every table mapped before the first query)
from models.errors import StoreError
from models.paths import DB_FILENAME, device_id

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision. Checked against Alembic's own view in the tests; lets a
# start-up with an up-to-date file skip importing Alembic (~0.1 s on a laptop).
SCHEMA_HEAD = "0004_docs"
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


def quick_check(db_path: Path) -> None:
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
    if rows != [("ok",)]:
        raise _damaged(db_path, "; ".join(r[0] for r in rows[:3]))


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
        return bool(conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar())


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


def known_storage_error(exc: OperationalError) -> StoreError | None:
    """The user's environment (disk full, read-only, locked) as a StoreError; None for our bugs."""
    text = str(getattr(exc, "orig", exc)).lower()
    for needle, message, hint in _KNOWN_STORAGE:
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
        self.data_dir = data_dir
        self.db_path = data_dir / DB_FILENAME
        self.photos_dir = data_dir / "photos"
        self.engine = engine
        self.device_id = device
        self.clock: Callable[[], datetime] | None = None  # tests inject a fixed clock
        self.recovered_note: str | None = None  # set when the store was found rolled back
        self.instance_lock = None  # models.leftovers.InstanceLock, set by start_store
        self.removed_leftovers: list[Path] = []  # what the start found a crash had left
        self._sessions = sessionmaker(engine, expire_on_commit=False)

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
            if "audit_event.device_id, audit_event.seq" not in str(exc.orig):
                raise
            # Another writer on this folder (an import, a second window) took the same place
            # in the chain between this one's read and its write: nothing was saved.
            raise StoreError("数据正被另一项操作（如导入）同时修改，本次保存未完成",
                             "请稍候片刻后重试") from exc

    def close(self) -> None:
        self.engine.dispose()
        if self.instance_lock is not None:
            self.instance_lock.release()
            self.instance_lock = None


def open_store(data_dir: Path) -> Store:
    """Check, back up, migrate and open the store in `data_dir`."""
    db_path = data_dir / DB_FILENAME
    quick_check(db_path)
    engine = make_engine(db_path)
    try:
        migrate(engine, db_path)
    except StoreError:
        engine.dispose()
        raise
    _apply_agency_zone(engine)
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
