"""Many clerks at the office at once (PostgreSQL): imports run side by side in real processes
and all complete, nothing doubled or lost; the ledger is read while an import is under way."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from models.demo import build_demo
from models.store import _IMPORT_LOCK
from models.tables import Enterprise, Inspection, Photo
from sync.export import export_bundle
from tests.sync.conftest import DEMO_NOW

pytestmark = pytest.mark.postgresql_only
REPO = Path(__file__).resolve().parents[2]


def _start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "main.py", *args], cwd=REPO, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")


def _finish(proc: subprocess.Popen, timeout: float = 180) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out


def _counts(store) -> dict:
    with store.session() as s:
        return {"inspections": s.scalar(select(func.count(Inspection.id))),
                "photos": s.scalar(select(func.count(Photo.id))),
                "enterprises": s.scalar(select(func.count(Enterprise.id)))}


@pytest.fixture
def bundles(laptop_a, laptop_b, tmp_path):
    assert build_demo(laptop_b, now=DEMO_NOW, laptop=2)
    paths = []
    for n, laptop in enumerate((laptop_a, laptop_b), 1):
        paths.append(tmp_path / f"laptop{n}.fcb")
        export_bundle(laptop, paths[-1], everything=True, encrypt=False)
    expected = {k: _counts(laptop_a)[k] + _counts(laptop_b)[k] for k in ("inspections", "photos")}
    return paths, expected, _counts(laptop_a)["enterprises"]


def test_two_imports_at_once_both_complete_and_nothing_is_doubled(office, bundles):
    (first, second), expected, register = bundles
    folder = str(office.data_dir)
    procs = [_start("import", str(b), "--json", "--data-dir", folder) for b in (first, second)]
    reports = [json.loads(_finish(p)) for p in procs]
    assert all(r["conflict"] == 0 for r in reports)
    counts = _counts(office)
    assert counts == {**expected, "enterprises": register}
    status = subprocess.run([sys.executable, "main.py", "status", "--json", "--data-dir", folder],
                            cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["audit_chain"]["intact"]


def test_the_same_bundle_twice_at_once_is_imported_once(office, bundles):
    (first, _second), _expected, _register = bundles
    folder = str(office.data_dir)
    procs = [_start("import", str(first), "--json", "--data-dir", folder) for _ in range(2)]
    reports = sorted((json.loads(_finish(p)) for p in procs), key=lambda r: r["new"])
    assert reports[0]["new"] == 0 and reports[1]["new"] > 0  # the later one found it all there
    with office.session() as s:
        assert s.scalar(select(func.count(Inspection.id))) == len(
            {i for i in s.scalars(select(Inspection.id))})


def test_ledger_is_read_while_an_import_holds_the_database(office, bundles):
    """An import in its write phase (here: the import lock held with a write open) blocks the
    next import, never a reader: the ledger and status are answered meanwhile."""
    (first, _second), _expected, _register = bundles
    folder = str(office.data_dir)
    with office.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
        holder.execute(text("UPDATE agency_settings SET court = court"))  # an open write
        waiting = _start("import", str(first), "--data-dir", folder)
        deadline = time.monotonic() + 120
        with office.engine.connect() as probe:  # the import has checked its files and waits
            while not probe.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                         "AND NOT granted")).scalar():
                assert waiting.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
        started = time.monotonic()
        reader = subprocess.run([sys.executable, "main.py", "hazards", "--json", "--data-dir", folder],
                                cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=60)
        assert reader.returncode == 0, reader.stderr
        assert json.loads(reader.stdout) == []  # nothing imported yet: the import waits
        assert time.monotonic() - started < 60
        assert waiting.poll() is None
        holder.rollback()
    _finish(waiting)
    assert _counts(office)["inspections"] > 0
