"""Opening FieldCheck's data folder the same way for the GUI, the CLI and the tests."""
from __future__ import annotations

import os

from checklists.loader import load_checklists
from models.chain_anchor import anchor_problem
from models.paths import resolve_data_dir, resolve_database_url, rotate_device_id
from models.store import Store, open_store


def start_store(data_dir: str | os.PathLike | None = None, database_url: str | None = None, *,
                upgrade: bool = False) -> Store:
    """Resolve, check, migrate and open the store, and load any new checklist versions.

    `database_url` (else FIELDCHECK_DATABASE_URL) puts the records on the office's PostgreSQL
    server; `upgrade` lets an older server schema be migrated (the `migrate` command)."""
    folder = resolve_data_dir(data_dir)
    url = resolve_database_url(database_url)
    store = open_store(folder, url, upgrade=upgrade)
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
