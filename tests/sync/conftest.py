"""Laptops and an office as data folders; a full dump to prove a store unchanged.

The office has created the agency (`agency create`) and enrolled both laptops the way a clerk
does it — `agency request` on the laptop, `agency enroll` at the office, `agency join` on the
laptop — so their bundles are accepted; tests of the refusals start from there (or from a
store with no agency: `stranger`).
"""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from models.demo import build_demo
from models.startup import start_store
from models.tables import Base
from sync import agency, crypto
from sync.agency_cli import join_file
from sync.bundle_format import BundleError, encode_value
from sync.trust import own_device_ids

DEMO_NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
AGENCY = "湘乡市应急管理局"
AGENCY_PASSPHRASE = "agency-passphrase-1"


def enroll(office_dir: Path, laptop, tmp: Path, inspectors=()) -> Path:
    """request → enroll → join, as a clerk runs them; returns the enrollment file."""
    key = crypto.device_signing_key(laptop.data_dir)
    previous = [d for d in own_device_ids(laptop.data_dir) if d != laptop.device_id]
    request = agency.make_request(laptop.data_dir, laptop.device_id, previous, key, list(inspectors))
    done = agency.enroll(office_dir, request, AGENCY_PASSPHRASE)
    digest = hashlib.sha256(done.document["signature"].encode()).hexdigest()[:8]
    target = tmp / f"enrollment-{laptop.device_id[:8]}-{digest}.json"
    target.write_text(json.dumps(done.document, ensure_ascii=False), "utf-8")
    # The clerk compares the CA fingerprint the office shows (agency show) on a first join.
    join_file(laptop, target, agency.cert_fingerprint(agency.installed_ca(office_dir)))
    return target


@pytest.fixture(scope="session")
def agency_templates(tmp_path_factory) -> dict[str, Path]:
    """Data folders built once and copied for each test: the office (agency created), laptop A
    with the demo and laptop B empty, both enrolled."""
    root = tmp_path_factory.mktemp("template")
    office = start_store(root / "office")
    laptop_a = start_store(root / "laptop-a")
    laptop_b = start_store(root / "laptop-b")
    try:
        agency.create_agency(office.data_dir, AGENCY, AGENCY_PASSPHRASE, office.device_id,
                             crypto.public_key_text(crypto.device_signing_key(office.data_dir)))
        build_demo(laptop_a, now=DEMO_NOW)
        enroll(office.data_dir, laptop_a, root)
        enroll(office.data_dir, laptop_b, root)
    finally:
        for store in (office, laptop_a, laptop_b):
            store.close()
    return {"office": root / "office", "laptop-a": root / "laptop-a", "laptop-b": root / "laptop-b"}


def _copy(templates, name: str, tmp_path: Path):
    folder = tmp_path / name
    shutil.copytree(templates[name], folder)
    return start_store(folder)


@pytest.fixture
def demo_template(agency_templates) -> Path:
    return agency_templates["laptop-a"]


@pytest.fixture
def laptop_a(tmp_path, agency_templates):
    store = _copy(agency_templates, "laptop-a", tmp_path)
    yield store
    store.close()


@pytest.fixture
def office(tmp_path, agency_templates, store_maker):
    """The office (agency created, laptops enrolled): its records on the server under
    --backend postgresql (laptops stay on SQLite)."""
    store = store_maker.open_copy(agency_templates["office"], tmp_path / "office", "office")
    yield store
    store.close()


@pytest.fixture
def laptop_b(tmp_path, agency_templates):
    store = _copy(agency_templates, "laptop-b", tmp_path)
    yield store
    store.close()


@pytest.fixture
def stranger(tmp_path, store_maker):
    """A store that belongs to no agency (trust by fingerprint only), on SQLite; a copy of
    one migrated once per run, with a device id of its own (not the `store` fixture's)."""
    store = store_maker.open(tmp_path / "stranger", "stranger", server=False)
    yield store
    store.close()


def kept_out(store, path, forged) -> None:
    """Import `path`: refused whole (the store unchanged, one Chinese line), or taken without
    the forged rows — `forged(session)` says whether the store holds them (either defence is
    acceptable; holding them is not)."""
    from sync.merge import import_bundle
    before = dump(store)
    try:
        import_bundle(store, path)
    except BundleError as refused:
        assert "导出包" in refused.text() and dump(store) == before
        return
    with store.session() as s:
        assert not forged(s), "the store took the forged rows as the record"


def refused(store, path) -> str:
    """Import `path`, which must be refused whole with the store exactly as it was: the
    refusal's one line."""
    from sync.merge import import_bundle
    before = dump(store)
    with pytest.raises(BundleError) as caught:
        import_bundle(store, path)
    assert dump(store) == before
    return caught.value.text()


def dump(store) -> dict:
    """Every table's rows (sorted) and every stored file: the whole store, for comparison."""
    out = {}
    with store.session() as s:
        for table in Base.metadata.sorted_tables:
            rows = [{k: encode_value(None, v) for k, v in r.items()}
                    for r in s.execute(select(table)).mappings()]
            out[table.name] = sorted(rows, key=lambda r: str(r["id"]))
    out["files"] = sorted(
        (str(p.relative_to(store.data_dir)), hashlib.sha256(p.read_bytes()).hexdigest())
        for sub in ("photos", "documents", "signatures", "sync", "trust")
        for p in (store.data_dir / sub).rglob("*") if p.is_file())
    return out
