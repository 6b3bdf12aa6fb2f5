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


def _waiting(probe, locktype: str) -> int:
    return probe.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = :t AND NOT granted"),
                         {"t": locktype}).scalar()


def _wait_until(probe, procs, condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition(probe):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_two_laptops_bringing_the_same_new_register_rows_at_once(office, laptop_a, laptop_b,
                                                                  bundles, tmp_path):
    """Two laptops' bundles, side by side, both bring the register and the same new firm
    under two different ids (same credit code). The first holds its transaction open at its
    last step (the office's chain: held here); the second plans and writes meanwhile — so
    they really overlap — and meets the first's uncommitted rows. Released, both complete:
    the firm once (the second maps to it), every inspection once, chains intact."""
    from tests.conftest import make_enterprise, valid_credit_code
    (_first, _second), expected, register = bundles
    code = valid_credit_code("91430381MA4LRACE1")
    for n, laptop in enumerate((laptop_a, laptop_b), 1):
        make_enterprise(laptop, name="湘乡市同时登记机械有限公司", credit_code=code,
                        address=f"登记于第 {n} 台电脑")
    paths = []
    for n, laptop in enumerate((laptop_a, laptop_b), 1):
        paths.append(tmp_path / f"again{n}.fcb")
        export_bundle(laptop, paths[-1], everything=True, encrypt=False)
    folder = str(office.data_dir)
    with office.engine.connect() as holder, office.engine.connect() as probe:
        holder.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:d, 0))"),
                       {"d": office.device_id})
        procs = [_start("import", str(b), "--json", "--data-dir", folder) for b in paths]
        # one import waits for the office's chain with its rows written, the other for
        # those rows (the same register and firm): both under way at once
        _wait_until(probe, procs, lambda c: _waiting(c, "advisory") >= 1
                    and _waiting(c, "transactionid") >= 1, "the two imports never overlapped")
        probe.rollback()
        holder.rollback()  # the first may finish now
    reports = [json.loads(_finish(p)) for p in procs]
    assert all(r["conflict"] == 0 for r in reports)
    assert sorted(r["by_table"].get("new", {}).get("enterprise", 0) for r in reports) == [
        0, register + 1]
    counts = _counts(office)
    assert counts == {**expected, "enterprises": register + 1}
    with office.session() as s:
        assert s.scalar(select(func.count(Enterprise.id)).where(Enterprise.credit_code == code)) == 1
    status = subprocess.run([sys.executable, "main.py", "status", "--json", "--data-dir", folder],
                            cwd=REPO, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["audit_chain"]["intact"]


def test_imports_of_different_laptops_do_not_wait_for_each_other(office, bundles):
    """An import under way (here: its shared hold on the import lock) does not stop another
    laptop's import; one of the same laptop waits for it (serialized per sending device)."""
    from sync.verify import read_bundle
    (first, second), _expected, _register = bundles
    folder = str(office.data_dir)
    sender = read_bundle(first).device_id
    with office.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": _IMPORT_LOCK})
        holder.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:d, 0))"), {"d": sender})
        same = _start("import", str(first), "--json", "--data-dir", folder)
        other = _start("import", str(second), "--json", "--data-dir", folder)
        assert json.loads(_finish(other))["new"] > 0  # done while the other import is under way
        assert same.poll() is None  # its own laptop's earlier import still holds the device
        holder.rollback()
    assert json.loads(_finish(same))["new"] > 0

