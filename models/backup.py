"""`backup --out DIR` and `restore DIR`: the database and the data folder's files, together.

A laptop's SQLite file is copied through SQLite's backup API (consistent while the app runs);
the office's PostgreSQL database through `pg_dump` in its custom format (one snapshot, while the
clerks go on working). The database is taken first, then the files: a photo or document the
dump refers to was on disk before the row that names it was committed, so it is in the copy.
Every file is listed with its SHA-256 in manifest.json and checked before a restore changes
anything; a restore goes only into an empty data folder and an empty database.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect as sa_inspect

from models.errors import StoreError
from models.paths import DATABASE_FILE, DB_FILENAME, atomic_write_bytes
from models.store import SCHEMA_HEAD, Store, make_server_engine, server_unreachable, server_url

MANIFEST = "manifest.json"
FILES = "files"
SQLITE_COPY = "fieldcheck.db"
PG_DUMP = "database.pgdump"
FORMAT = "fieldcheck-backup-1"
# Not part of a backup: the database itself (copied above), earlier migration copies, leftovers
# of an import, and which server the folder belongs to (a restore may go to another one).
_SKIPPED = {DB_FILENAME, f"{DB_FILENAME}-wal", f"{DB_FILENAME}-shm", "backups", "tmp",
            DATABASE_FILE, "fieldcheck.log"}
PG_BIN = Path(os.environ.get("FIELDCHECK_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _tool(name: str) -> str:
    found = PG_BIN / name
    if found.is_file():
        return str(found)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise StoreError(f"未找到 PostgreSQL 工具 {name}",
                     "请在本机安装 postgresql-client-15（或用 FIELDCHECK_PG_BIN 指定其所在文件夹）")


def _libpq_env(store_or_url) -> dict[str, str]:
    """The connection of a SQLAlchemy URL as libpq's environment (the password never on a
    command line, where `ps` would show it)."""
    url = server_url(str(store_or_url)) if isinstance(store_or_url, str) else store_or_url
    env = dict(os.environ)
    host = url.query.get("host") or url.host
    port = url.query.get("port") or url.port
    for key, value in (("PGHOST", host), ("PGPORT", port), ("PGUSER", url.username),
                       ("PGDATABASE", url.database), ("PGPASSWORD", url.password)):
        if value:
            env[key] = str(value if not isinstance(value, tuple) else value[0])
    return env


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _data_files(data_dir: Path) -> list[Path]:
    """Every regular file of the data folder but _SKIPPED's, in path order. Listed by
    scandir, each entry's type from the listing and its path as parts of text: rglob, a
    sort of Paths and two stats per file took 45 s for an office's 800k files."""
    found: list[tuple[tuple[str, ...], str]] = []
    fold = str.lower if os.name == "nt" else None  # as Paths compare there

    def walk(folder: str, parts: tuple[str, ...]) -> None:
        with os.scandir(folder) as listing:
            entries = list(listing)
        for entry in entries:
            if not parts and entry.name in _SKIPPED:
                continue
            here = (*parts, fold(entry.name) if fold else entry.name)
            if entry.is_dir(follow_symlinks=False):
                walk(entry.path, here)
            elif entry.is_file(follow_symlinks=False):
                found.append((here, entry.path))

    walk(os.fspath(data_dir), ())
    found.sort()
    return [Path(path) for _parts, path in found]


def _run(cmd: list[str], env: dict, what: str) -> None:
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except OSError as exc:
        raise StoreError(f"无法运行 {cmd[0]}（{exc.strerror or exc}）", "请检查 PostgreSQL 工具是否已安装") from exc
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or [""])[0]
        raise StoreError(f"{what}失败（{detail}）", "请检查数据库服务器是否在运行、用户是否有权限后重试")


def backup_store(store: Store, out: Path) -> dict:
    """Write the backup into the new or empty folder `out`; returns the manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise StoreError(f"备份文件夹 {out} 不是空的", "请指定一个新的或空的文件夹（例如以日期命名）")
    out.mkdir(parents=True, exist_ok=True)
    partial = out / ".partial"
    partial.write_text("备份未完成", "utf-8")  # gone only when every file is written
    if store.backend == "sqlite":
        database = out / SQLITE_COPY
        src, dst = sqlite3.connect(store.db_path), sqlite3.connect(database)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        database = out / PG_DUMP
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", f"--file={database}"],
             _libpq_env(store.engine.url), "导出数据库（pg_dump）")
    files = []
    for path in _data_files(store.data_dir):
        rel = path.relative_to(store.data_dir)
        target = out / FILES / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        files.append({"path": rel.as_posix(), "sha256": _sha(target), "size": target.stat().st_size})
    manifest = {"format": FORMAT, "backend": store.backend, "schema": SCHEMA_HEAD,
                "created_at": datetime.now(timezone.utc).isoformat(),
                "database": {"file": database.name, "sha256": _sha(database)}, "files": files}
    atomic_write_bytes(out / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    partial.unlink()
    return manifest


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{folder} 不是 FieldCheck 备份（没有可读的 {MANIFEST}）",
                         "请指定 backup --out 生成的文件夹") from exc
    if manifest.get("format") != FORMAT or (folder / ".partial").exists():
        raise StoreError(f"备份 {folder} 不完整或格式不对", "请使用另一份完整的备份")
    return manifest


def _check(folder: Path, manifest: dict) -> None:
    """Every file as it was written, before anything is restored."""
    entries = [(manifest["database"]["file"], manifest["database"]["sha256"])] + [
        (f"{FILES}/{f['path']}", f["sha256"]) for f in manifest["files"]]
    for rel, sha in entries:
        path = folder / rel
        if ".." in Path(rel).parts or not path.is_file() or _sha(path) != sha:
            raise StoreError(f"备份中的文件 {rel} 缺失或已被改动，未恢复任何内容", "请使用另一份完整的备份")


def restore_store(backup: Path, data_dir: Path, database_url: str | None) -> str:
    """Restore into the empty folder `data_dir` (and the empty database at `database_url` for
    an office backup). Nothing is written before every check has passed."""
    backup, data_dir = Path(backup), Path(data_dir)
    manifest = _read_manifest(backup)
    on_server = manifest["backend"] == "postgresql"
    if on_server != bool(database_url):
        raise StoreError("该备份来自办公室数据库（PostgreSQL），请用 --database-url 指定一个空数据库"
                         if on_server else "该备份来自笔记本电脑（本机数据库），恢复时不要使用 --database-url",
                         "恢复到与备份相同类型的数据库")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise StoreError(f"数据文件夹 {data_dir} 不是空的，未恢复任何内容",
                         "请用 --data-dir 指定一个新的或空的文件夹，避免覆盖现有数据")
    _check(backup, manifest)
    if on_server:
        engine = make_server_engine(database_url)
        try:
            with engine.connect() as conn:
                if sa_inspect(conn).get_table_names():
                    raise StoreError(f"数据库 {server_url(database_url).render_as_string(hide_password=True)}"
                                     " 不是空的，未恢复任何内容", "请用 createdb 新建一个空数据库后恢复到它")
        except StoreError:
            raise
        except Exception as exc:
            raise server_unreachable(engine, exc) from exc
        finally:
            engine.dispose()
        _run([_tool("pg_restore"), "--no-owner", "--no-acl", "--single-transaction", "--exit-on-error",
              f"--dbname={_libpq_env(database_url)['PGDATABASE']}", str(backup / PG_DUMP)],
             _libpq_env(database_url), "恢复数据库（pg_restore）")
    data_dir.mkdir(parents=True, exist_ok=True)
    for entry in manifest["files"]:
        target = data_dir / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(backup / FILES / entry["path"], target)
    if on_server:
        from models.startup import database_key
        atomic_write_bytes(data_dir / DATABASE_FILE,
                           json.dumps({"url": database_key(database_url)}).encode("utf-8"))
    else:
        tmp = data_dir / f"{DB_FILENAME}.restoring"
        shutil.copyfile(backup / SQLITE_COPY, tmp)
        tmp.replace(data_dir / DB_FILENAME)
    return f"已从备份 {backup} 恢复到 {data_dir}（{len(manifest['files'])} 个文件）"
