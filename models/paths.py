"""Where FieldCheck keeps its data and finds its bundled resources.

The one module that knows folders (STYLE.md pattern 7). Order of precedence for the
data folder: the `--data-dir` option, then `FIELDCHECK_DATA_DIR`, then the user's data
folder from platformdirs.
"""
from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import stat
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import platformdirs
from filelock import FileLock

from models.errors import StoreError

APP_NAME = "FieldCheck"
ENV_DATA_DIR = "FIELDCHECK_DATA_DIR"
# At the office: the PostgreSQL database (the data folder then holds only files and keys).
ENV_DATABASE_URL = "FIELDCHECK_DATABASE_URL"
DB_FILENAME = "fieldcheck.db"
REPO_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
# Written by `agency create` / `agency join` (sync.agency); read by documents and case numbering.
AGENCY_CA_FILE = "trust/agency-ca.crt"
CASE_RANGE_FILE = "trust/case_range.json"
# The agency CA's private key (sync.agency, `agency create`): only the office holds it.
AGENCY_CA_KEY_FILE = "keys/agency-ca.pem"
# Inspectors' certificates the agency revoked, from its signed list (checked on arrival):
# SHA-256 → {"at", "reason"}; documents.keys refuses to sign with them.
REVOKED_CERTIFICATES_FILE = "trust/revoked-certificates.json"


def resolve_data_dir(cli_value: str | os.PathLike | None = None) -> Path:
    """The data folder to use, created if missing."""
    raw = cli_value or os.environ.get(ENV_DATA_DIR) or platformdirs.user_data_dir(
        APP_NAME, appauthor=False
    )
    path = Path(raw).expanduser().resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"无法创建数据文件夹 {path}（{exc.strerror or exc}）",
            "请检查该位置是否可写，或用 --data-dir 指定其他文件夹",
        ) from exc
    check_writable(path)
    return path


def _read_only(path: Path) -> StoreError:
    return StoreError(
        f"数据文件夹只读，FieldCheck 无法在其中保存任何内容：{path}",
        "请取消U盘或存储卡的写保护，或把数据文件夹复制到本机硬盘后用 --data-dir 指定它")


def check_writable(folder: Path) -> None:
    """Refuse a read-only data folder at once, by name — SQLite would only say it cannot
    open the file, which reads like damage. A real file is made and removed: permission
    bits say nothing on a read-only medium, nor for root."""
    probe = folder / f".write-probe-{uuid.uuid4().hex}"
    try:
        probe.open("xb").close()
    except PermissionError as exc:
        raise _read_only(folder) from exc
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise _read_only(folder) from exc
        raise StoreError(f"无法写入数据文件夹 {folder}（{exc.strerror or exc}）",
                         "请检查磁盘空间和该文件夹的权限，或用 --data-dir 指定其他文件夹") from exc
    probe.unlink(missing_ok=True)
    for name in (DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm"):
        target = folder / name
        if target.exists() and not os.access(target, os.W_OK):
            raise _read_only(target)


DATABASE_FILE = "database.json"  # in an office data folder: the database its files belong to


def resolve_database_url(cli_value: str | None = None) -> str | None:
    """The office database asked for: `--database-url`, then FIELDCHECK_DATABASE_URL; None
    when neither is given (then the data folder's own choice, see models.startup)."""
    return (cli_value or os.environ.get(ENV_DATABASE_URL) or "").strip() or None


def resources_dir() -> Path:
    return REPO_ROOT / "resources"


def checklists_dir() -> Path:
    """The bundled checklist files (checklists/data/*.toml)."""
    return REPO_ROOT / "checklists" / "data"



# How an evidence file is opened to be hashed: O_NONBLOCK, so that a named pipe in its
# place is refused rather than waited on for ever (sync.export_files reads the same way).
_HASH_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def file_sha256(path: Path | str) -> str:
    """The SHA-256 of a regular file. FileNotFoundError when it is not there; another
    OSError when it cannot be read or is not a regular file (a pipe, a device, a folder)."""
    fd = os.open(path, _HASH_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "不是普通文件", str(path))
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    finally:
        os.close(fd)


def atomic_write_bytes(target: Path, data: bytes, durable: bool = True) -> None:
    """Write a file so that a crash leaves either the old file or the new one, never half
    (`durable=False`: no fsync, for state whose older version is harmless)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk (POSIX).
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def device_id(data_dir: Path) -> str:
    """This installation's id, stamped on every row it creates; made once, then kept —
    made under the state-file lock: two first starts at once (the window and a command)
    each made their own, and one stamped its rows with an id the folder then forgot."""
    id_file = data_dir / "device.json"
    if id_file.exists():
        return _read_device_id(id_file)
    with _state_lock(Path(data_dir)):
        if id_file.exists():  # the other one made it meanwhile
            return _read_device_id(id_file)
        new_id = str(uuid.uuid4())
        atomic_write_bytes(id_file, json.dumps({"device_id": new_id}).encode("utf-8"))
        return new_id


def _read_device_id(id_file: Path) -> str:
    try:
        return str(uuid.UUID(json.loads(id_file.read_text("utf-8"))["device_id"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"设备标识文件 {id_file} 已损坏",
            "请从备份恢复该文件；若确认本机从未导出过数据，可删除它后重启",
        ) from exc


def rotate_device_id(data_dir: Path) -> str:
    """A new id for this installation, the old ones kept in device.json: for a store whose
    own chain was rolled back (models.chain_anchor), so its new events never collide with
    the ones already exported under the old id."""
    id_file = data_dir / "device.json"
    with _state_lock(Path(data_dir)):  # (reentrant: device_id takes it too)
        old = device_id(data_dir)
        try:
            previous = json.loads(id_file.read_text("utf-8")).get("previous", [])
        except (OSError, ValueError, AttributeError):
            previous = []
        new_id = str(uuid.uuid4())
        atomic_write_bytes(id_file, json.dumps({"device_id": new_id, "previous": [*previous, old]})
                           .encode("utf-8"))
        return new_id


def read_json_dict(path: Path) -> dict:
    """A small state file of ours as a dict; missing or unreadable reads as empty (callers
    keep only what they can lose: the next step is then merely slower or checks less)."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


STATE_LOCK_FILE = ".state-files.lock"
_state_locks: dict[str, FileLock] = {}
_state_locks_guard = threading.Lock()


def with_state_files_locked(change: Callable[..., T]) -> Callable[..., T]:
    """For a function that reads a state file of the data folder (its first argument), changes
    it and writes it back: one process or thread at a time. Several clerks import into one
    office folder at once; each would write back what it read before the other wrote (a
    device's key or chain head lost). One lock per folder, reentrant within a thread."""
    @functools.wraps(change)
    def locked(data_dir, *args, **kwargs):
        with _state_lock(Path(data_dir)):
            return change(data_dir, *args, **kwargs)
    return locked


def _state_lock(data_dir: Path) -> FileLock:
    key = str(data_dir.resolve())
    with _state_locks_guard:
        if key not in _state_locks:
            data_dir.mkdir(parents=True, exist_ok=True)
            _state_locks[key] = FileLock(data_dir / STATE_LOCK_FILE, timeout=120)
        return _state_locks[key]


def write_json(path: Path, data: dict, durable: bool = True) -> None:
    atomic_write_bytes(Path(path), json.dumps(data, ensure_ascii=False, indent=1,
                                              sort_keys=True).encode("utf-8"), durable)
