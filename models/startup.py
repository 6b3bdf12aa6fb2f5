"""Opening FieldCheck's data folder the same way for the GUI, the CLI and the tests."""
from __future__ import annotations

import os

from checklists.loader import load_checklists
from models.chain_anchor import anchor_problem
from models.leftovers import InstanceLock, remove_crash_leftovers
from models.paths import resolve_data_dir, rotate_device_id
from models.store import Store, open_store


def start_store(data_dir: str | os.PathLike | None = None) -> Store:
    """Resolve, check, migrate and open the store, load any new checklist versions, and
    remove what a crash left half-done (models.leftovers)."""
    folder = resolve_data_dir(data_dir)
    lock = InstanceLock(folder)
    try:
        store = _open(folder)
    except BaseException:
        lock.release()
        raise
    store.instance_lock = lock
    try:
        with store.session() as s:
            store.removed_leftovers = remove_crash_leftovers(s, folder, lock)
    except BaseException:
        store.close()
        raise
    return store


def _open(folder) -> Store:
    store = open_store(folder)
    with store.session() as s:
        rolled_back = anchor_problem(s, folder, store.device_id)
    if rolled_back:  # restored from a backup after its chain was exported: go on under a new id
        old = store.device_id
        store.close()
        rotate_device_id(folder)
        store = open_store(folder)
        store.recovered_note = (f"{rolled_back}。此后本机以新的设备编号 {store.device_id[:8]} 记录"
                                f"（原编号 {old[:8]}），已导出的记录不受影响")
    try:
        with store.transaction(label="load_checklists") as session:
            load_checklists(session)
    except BaseException:
        store.close()
        raise
    return store
