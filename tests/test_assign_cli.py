"""`assign-hazard` through the real command line: the office assigns and re-assigns; a laptop,
a general hazard, a past or malformed deadline get one Chinese line, exit 2, the folder as it
was byte for byte."""
from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from models.demo import build_demo
from models.startup import start_store
from sync import agency, crypto
from tests.sync.conftest import DEMO_NOW
from tests.test_user_errors import cli, folder_bytes, one_chinese_line

TODAY = DEMO_NOW.date()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A laptop with the demo, and the same data made an office (`agency create`)."""
    root = tmp_path_factory.mktemp("assign")
    store = start_store(root / "laptop")
    try:
        build_demo(store, now=DEMO_NOW)
    finally:
        store.close()
    shutil.copytree(root / "laptop", root / "office")
    office = start_store(root / "office")
    try:
        agency.create_agency(office.data_dir, "湘乡市应急管理局", "agency-passphrase-1",
                             office.device_id,
                             crypto.public_key_text(crypto.device_signing_key(office.data_dir)))
    finally:
        office.close()
    return root


def hazards(folder):
    done = cli("hazards", "--json", data_dir=folder)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def open_major(folder):
    return next(h for h in hazards(folder) if h["is_major"] and h["status"] != "已销号")


def test_the_office_assigns_then_reassigns(folders, tmp_path):
    """交办, then 改交: the second record replaces the first; `hazards` shows the one in force."""
    office = tmp_path / "office"
    shutil.copytree(folders / "office", office)
    major = open_major(office)
    first_deadline = (TODAY + timedelta(days=400)).isoformat()
    done = cli("assign-hazard", major["id"], "--to", "湘乡市月山镇人民政府", "--deadline",
               first_deadline, "--note", "请镇安监站督促整改", "--json", data_dir=office)
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout)
    assert (first["to"], first["round"], first["replaces_id"]) == ("湘乡市月山镇人民政府", 1, None)
    assert first["hazard"]["assignment_state"] == "已交办"
    again = cli("assign-hazard", major["id"], "--to", "湘乡市工业和信息化局", "--deadline",
                first_deadline, data_dir=office)
    assert again.returncode == 0, again.stderr
    assert "第 2 次交办" in again.stdout and "湘乡市工业和信息化局" in again.stdout
    row = next(h for h in hazards(office) if h["id"] == major["id"])
    assert (row["assigned_to"], row["assignment_deadline"], row["assignment_state"]) == (
        "湘乡市工业和信息化局", first_deadline, "已交办")


@pytest.mark.parametrize("case", ["laptop", "general", "past", "malformed", "unknown", "empty"])
def test_refusals_leave_the_folder_as_it_was(folders, tmp_path, case):
    """Each refusal: one Chinese line naming the cause, exit 2, every file unchanged."""
    folder = tmp_path / "store"
    shutil.copytree(folders / ("laptop" if case == "laptop" else "office"), folder)
    rows = hazards(folder)
    major = next(h for h in rows if h["is_major"] and h["status"] != "已销号")
    general = next(h for h in rows if not h["is_major"])
    later = (TODAY + timedelta(days=400)).isoformat()
    target, deadline, to, cause = {
        "laptop": (major["id"], later, "月山镇", "只有办公室"),
        "general": (general["id"], later, "月山镇", "只有重大事故隐患"),
        "past": (major["id"], "2020-01-01", "月山镇", "已过"),
        "malformed": (major["id"], "2026/12/31", "月山镇", "YYYY-MM-DD"),
        "unknown": ("00000000-0000-4000-8000-000000000000", later, "月山镇", "找不到隐患"),
        "empty": (major["id"], later, "  ", "责任单位"),
    }[case]
    before = folder_bytes(folder)
    done = cli("assign-hazard", target, "--to", to, "--deadline", deadline, data_dir=folder)
    assert done.returncode == 2
    assert cause in one_chinese_line(done.stderr)
    assert folder_bytes(folder) == before


def test_status_names_a_assignment_edited_beside_the_chain(folders, tmp_path):
    """A 交办 changed in the database file (not through FieldCheck): `status` exits 1 and
    names it; before the edit it was intact."""
    import sqlite3
    office = tmp_path / "office"
    shutil.copytree(folders / "office", office)
    major = open_major(office)
    done = cli("assign-hazard", major["id"], "--to", "湘乡市月山镇人民政府", "--deadline",
               (TODAY + timedelta(days=400)).isoformat(), "--json", data_dir=office)
    assert done.returncode == 0, done.stderr
    assignment = json.loads(done.stdout)["assignment_id"]
    status = cli("status", "--json", data_dir=office)
    assert status.returncode == 0 and json.loads(status.stdout)["audit_chain"]["intact"]
    with sqlite3.connect(office / "fieldcheck.db") as conn:  # a later deadline, quietly
        conn.execute("UPDATE hazard_assignment SET deadline = '2030-01-01'")
    status = cli("status", "--json", data_dir=office)
    assert status.returncode == 1
    problems = json.loads(status.stdout)["audit_chain"]["problems"]
    assert any(f"交办记录 {assignment[:8]}" in p and "交办期限" in p for p in problems)
