"""Opening FieldCheck's data folder the same way for the GUI, the CLI and the tests."""
from __future__ import annotations

import os
from pathlib import Path

from models.checklist_library import load_checklists
from models.chain_anchor import anchor_problem
from models.errors import StoreError
from models.leftovers import InstanceLock, remove_crash_leftovers
from models.paths import (DATABASE_FILE, DB_FILENAME, read_json_dict, resolve_data_dir,
                          resolve_database_url, rotate_device_id, write_json)
from models.store import Store, damaged_page, open_store, server_url


def _database_of(folder: Path, asked: str | None) -> str | None:
    """Which database goes with this data folder. An office folder remembers its server (its
    photos and documents belong to that database), so a later start without --database-url
    finds it; a laptop folder (no database.json) stays on its SQLite file."""
    remembered = read_json_dict(folder / DATABASE_FILE).get("url")
    if asked is None:
        return remembered if isinstance(remembered, str) and remembered else None
    if isinstance(remembered, str) and remembered and database_key(remembered) != database_key(asked):
        raise StoreError(f"数据文件夹 {folder} 属于数据库 {database_key(remembered)}，不是 {database_key(asked)}",
                         "请用 --data-dir 指定该数据库自己的数据文件夹（照片和文书与数据库一一对应）")
    if not remembered and (folder / DB_FILENAME).exists():
        raise StoreError(f"数据文件夹 {folder} 是一台笔记本电脑的本机数据，不能用于办公室数据库",
                         "请为办公室数据库另建一个空的数据文件夹（--data-dir），笔记本数据请导出后导入")
    return asked


def database_key(url: str) -> str:
    """The database a URL names, without its password (never written to the folder)."""
    return server_url(url).set(password=None).render_as_string(hide_password=False)


def start_store(data_dir: str | os.PathLike | None = None, database_url: str | None = None, *,
                upgrade: bool = False, full_check: bool = True) -> Store:
    """Resolve, check, migrate and open the store, load any new checklist versions, and
    remove what a crash left half-done (models.leftovers).

    `database_url` (else FIELDCHECK_DATABASE_URL) puts the records on the office's PostgreSQL
    server; `upgrade` lets an older server schema be migrated (the `migrate` command);
    `full_check` False leaves the laptop file's page check (quick_check) to the caller."""
    folder = resolve_data_dir(data_dir)
    lock = InstanceLock(folder)
    try:
        store = _open(folder, database_url, upgrade, full_check)
    except BaseException as exc:
        lock.release()
        _raise_if_damaged(exc, folder)
        raise
    store.instance_lock = lock
    try:
        with store.session() as s:
            store.removed_leftovers = remove_crash_leftovers(s, folder, lock)
    except BaseException as exc:
        store.close()
        _raise_if_damaged(exc, folder)
        raise
    return store


def _raise_if_damaged(exc: BaseException, folder: Path) -> None:
    damaged = damaged_page(exc, folder / DB_FILENAME)
    if damaged is not None:
        raise damaged from exc


def _open(folder, database_url, upgrade, full_check=True) -> Store:
    url = _database_of(folder, resolve_database_url(database_url))
    store = open_store(folder, url, upgrade=upgrade, full_check=full_check)
    if url and not (folder / DATABASE_FILE).exists():
        write_json(folder / DATABASE_FILE, {"url": database_key(url)})
    with store.session() as s:
        rolled_back = anchor_problem(s, folder, store.device_id)
    if rolled_back:  # restored from a backup after its chain was exported: go on under a new id
        old = store.device_id
        store.close()
        rotate_device_id(folder)
        store = open_store(folder, url)
        store.recovered_note = (f"{rolled_back}。此后本机以新的设备编号 {store.device_id[:8]} 记录"
                                f"（原编号 {old[:8]}），已导出的记录不受影响")
    try:
        with store.transaction(label="load_checklists") as session:
            load_checklists(session)
    except BaseException:
        store.close()
        raise
    return store
