"""Laptops and an office as data folders; a full dump to prove a store unchanged."""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from models.demo import build_demo
from models.startup import start_store
from models.tables import Base
from sync.bundle_format import encode_value

DEMO_NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A laptop data folder holding the demo (built once, copied for each test)."""
    folder = tmp_path_factory.mktemp("template") / "laptop-a"
    store = start_store(folder)
    try:
        build_demo(store, now=DEMO_NOW)
    finally:
        store.close()
    return folder


@pytest.fixture
def laptop_a(tmp_path, demo_template):
    folder = tmp_path / "laptop-a"
    shutil.copytree(demo_template, folder)
    store = start_store(folder)
    yield store
    store.close()


@pytest.fixture
def office(tmp_path, store_maker):
    """The office: on the server under --backend postgresql (laptops stay on SQLite)."""
    store = store_maker.open(tmp_path / "office", "office")
    yield store
    store.close()


@pytest.fixture
def laptop_b(tmp_path, store_maker):
    store = store_maker.open(tmp_path / "laptop-b", "laptop-b", server=False)
    yield store
    store.close()


def dump(store) -> dict:
    """Every table's rows (sorted) and every stored file: the whole store, for comparison."""
    out = {}
    with store.session() as s:
        for table in Base.metadata.sorted_tables:
            rows = [{k: encode_value(None, v) for k, v in r.items()}
                    for r in s.execute(select(table)).mappings()]
            out[table.name] = sorted(rows, key=lambda r: str(r["id"]))
    out["files"] = sorted(
        (str(p.relative_to(store.data_dir)), p.stat().st_size)
        for sub in ("photos", "documents", "signatures")
        for p in (store.data_dir / sub).rglob("*") if p.is_file())
    return out
