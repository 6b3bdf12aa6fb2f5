"""Opening FieldCheck's data folder the same way for the GUI, the CLI and the tests."""
from __future__ import annotations

import os

from checklists.loader import load_checklists
from models.paths import resolve_data_dir
from models.store import Store, open_store


def start_store(data_dir: str | os.PathLike | None = None) -> Store:
    """Resolve, check, migrate and open the store, and load any new checklist versions."""
    store = open_store(resolve_data_dir(data_dir))
    try:
        with store.transaction(label="load_checklists") as session:
            load_checklists(session)
    except BaseException:
        store.close()
        raise
    return store
