"""Tamper evidence covers the content: finalized records and issued documents edited beside
the app (a second SQLite connection on the file, a replaced PDF) are found by `status`."""
import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

import main
from documents.service import issue_case_documents
from models.audit import AuditEvent
from models.demo import demo_photo
from models.inspection import AnswerResult, Hazard
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.photo_store import attach_photo
from models.reinspection_rules import (finalize_reinspection, record_review, reviews,
                                       set_major_tracking, start_reinspection)
from models.seal import SEAL_ACTION, seal_records
from tests.conftest import (T0, Clock, make_enterprise, make_inspection, make_office, make_team,
                            people_signing)

REPO = Path(__file__).resolve().parents[2]

# The attacks edit the laptop's SQLite file directly (a clerk with sqlite3); the seal
# itself is portable and is checked at the office by tests/sync/test_seal_sync.py.
pytestmark = pytest.mark.sqlite_only


def _issue_case(store):
    """A finalized inspection with a major and a general hazard, a photo, and its documents
    issued and signed by the team: (its id, the team, the clock's time at the end)."""
    clock = Clock()
    store.clock = clock
    enterprise_id = make_enterprise(store)
    team = make_team(store)
    inspection_id = make_inspection(store, enterprise_id, team, clock)
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    bad = {next(i for i in items if i.major).id, next(i for i in items if not i.major).id}
    for item in items:
        with store.transaction() as s:
            answer = answer_item(s, inspection_id, item.id,
                                 AnswerResult.NONCOMPLIANT if item.id in bad else AnswerResult.COMPLIANT)
            if item.id in bad and not s.scalar(select(AuditEvent.id).where(
                    AuditEvent.entity_type == "photo")):
                attach_photo(s, store.photos_dir, inspection_id, demo_photo("证据", clock()),
                             original_name="IMG_0001.jpg", answer_id=answer.id,
                             hazard_id=answer.hazard.id)
    clock.advance(hours=2)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)
    issue_case_documents(store, inspection_id, people_signing(store, inspection_id))
    return inspection_id, team, clock.now


@pytest.fixture
def issued_case(tmp_path, clock, store_maker):
    """(store, inspection id, team): a copy of the issued case, which is built once per run
    (rendering and signing its documents took seconds a test); the clock where it ended."""
    store, (inspection_id, team) = store_maker.open_case(tmp_path / "data", "seal-issued",
                                                         _issue_case, clock)
    yield store, inspection_id, team
    store.close()


@pytest.fixture
def store(request, tmp_path, clock, store_maker):
    """A test of the issued case gets its store; any other a fresh one (tests/conftest.py)."""
    s, ours = store_maker.case_or_fresh(request, tmp_path / "data", clock)
    yield s
    if ours:
        s.close()


@pytest.fixture
def team(request, store):
    if "issued" in request.fixturenames:
        return request.getfixturevalue("issued_case")[2]
    return make_team(store)


@pytest.fixture
def issued(issued_case):
    return issued_case[1]


def sql(store, statement: str, *params) -> int:
    """Change the database file the way a hostile user would: a second connection, no app."""
    con = sqlite3.connect(store.db_path)
    try:
        changed = con.execute(statement, params).rowcount
        con.commit()
    finally:
        con.close()
    assert changed > 0, statement
    return changed


def status(capsys, store):
    code = main.main(["status", "--json", "--data-dir", str(store.data_dir)])
    out, err = capsys.readouterr()
    assert not err
    return code, json.loads(out)["audit_chain"]["problems"]


def hex_id(value) -> str:
    return value.hex  # how SQLAlchemy's Uuid stores ids in SQLite


def test_untouched_case_is_intact(capsys, store, issued):
    """Finalizing and issuing each leave a seal; nothing touched: status exits 0."""
    with store.session() as s:
        seals = s.scalars(select(AuditEvent).where(AuditEvent.action == SEAL_ACTION)).all()
        records = seal_records(s, issued)
    assert len(seals) == 2 and {e.entity_id for e in seals} == {str(issued)}
    last = json.loads(seals[-1].after)
    assert last["records"] == records and "checklist_item" in last["tables"]
    assert {"inspection", "inspection_inspector", "answer", "hazard", "photo", "document",
            "signature"} <= set(records)
    assert status(capsys, store) == (0, [])


@pytest.mark.parametrize("attack, expected", [
    ("UPDATE answer SET result = 'compliant' WHERE result = 'noncompliant'", "检查项结果"),
    ("UPDATE answer SET note = '改过的说明' WHERE id IN (SELECT min(id) FROM answer)", "检查项结果"),
    ("UPDATE hazard SET description = '轻微问题'", "隐患"),
    ("UPDATE hazard SET is_major = 0", "隐患"),
    ("UPDATE photo SET sha256 = '" + "0" * 64 + "'", "照片"),
    ("UPDATE document SET sha256 = '" + "1" * 64 + "' WHERE kind = 'inspection_record'", "文书"),
    ("UPDATE signature SET signer_name = '王五' WHERE role = 'representative'", "签名"),
    ("UPDATE inspection SET place = '别处'", "检查记录"),
    ("UPDATE inspection SET status = 'in_progress', finalized_at = NULL", "检查记录"),
    ("UPDATE inspection_inspector SET position = 9 WHERE position = 1", "检查人员"),
    ("UPDATE checklist_item SET question = '随便看看' WHERE code = 'DUST-01'", "检查项内容"),
])
def test_direct_edit_of_a_finalized_record_is_reported(capsys, store, issued, attack, expected):
    """An UPDATE on the file beside the app: status exits 1 and names what changed.
    (Before content seals every one of these passed with exit 0.)"""
    sql(store, attack)
    code, problems = status(capsys, store)
    assert code == 1
    assert any(expected in p and "被改动" in p for p in problems), problems
    assert all("2026年第" in p for p in problems if "定稿后" in p)  # the case is named


def test_deleted_hazards_and_inserted_answer_are_reported(capsys, store, issued):
    """Deleting the hazards (and their photo) or adding a photo row is named as such."""
    with store.session() as s:
        hazard_ids = s.scalars(select(Hazard.id).where(Hazard.inspection_id == issued)).all()
    con = sqlite3.connect(store.db_path)
    columns = [r[1] for r in con.execute("PRAGMA table_info(photo)")]
    con.close()
    copied = ", ".join("lower(hex(randomblob(16)))" if c == "id" else "NULL" if c == "hazard_id"
                       else "'另一张.jpg'" if c == "original_name" else c for c in columns)
    sql(store, f"INSERT INTO photo ({', '.join(columns)}) SELECT {copied} FROM photo")
    sql(store, "DELETE FROM photo WHERE hazard_id IS NOT NULL")
    sql(store, "DELETE FROM hazard")
    code, problems = status(capsys, store)
    assert code == 1
    deleted = [p for p in problems if "隐患" in p and "被删除" in p]
    assert len(deleted) == len(hazard_ids) == 2
    assert any("照片" in p and "被删除" in p for p in problems)
    assert any("新增了照片" in p for p in problems)


def test_document_file_replaced_on_disk_is_reported(capsys, store, issued):
    """Swapping an issued PDF for another file (the stored sha256 untouched) is found."""
    con = sqlite3.connect(store.db_path)
    files = [r[0] for r in con.execute("SELECT file_name FROM document ORDER BY kind")]
    con.close()
    target = store.data_dir / files[0]
    shutil.copyfile(store.data_dir / files[1], target)
    code, problems = status(capsys, store)
    assert code == 1 and any("与记录时不同" in p for p in problems), problems
    target.unlink()
    code, problems = status(capsys, store)
    assert code == 1 and any("缺失" in p for p in problems), problems


def test_deleting_the_newest_events_of_a_laptop_that_never_exported(store, issued):
    """The last seal and finalize events cut off the chain's end in a second process:
    `status` (a new process) reports the chain shorter than this laptop wrote it, exit 1."""
    with store.session() as s:
        head = s.scalar(select(AuditEvent.seq).where(AuditEvent.device_id == store.device_id)
                        .order_by(AuditEvent.seq.desc()).limit(1))
    store.close()
    cut = f"DELETE FROM audit_event WHERE device_id = '{store.device_id}' AND seq > {head - 3}"
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({str(store.db_path)!r});"
                    f" c.execute({cut!r}); c.commit()"], check=True)
    result = subprocess.run([sys.executable, str(REPO / "main.py"), "status", "--data-dir",
                             str(store.data_dir)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1, result.stdout
    assert f"只到第 {head - 3} 条，而本机此前已有 {head} 条" in result.stdout
    # The store goes on under a new device id; the loss stays reported.
    again = subprocess.run([sys.executable, str(REPO / "main.py"), "status", "--data-dir",
                            str(store.data_dir)], capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 1 and f"而本机此前已有 {head} 条" in again.stdout


def test_rewriting_the_newest_event_is_reported(capsys, store, issued):
    """The newest event replaced by another with a correct hash still differs from the head
    written outside the database."""
    from models.record_policy import event_hash, hashed_fields
    with store.session() as s:
        last = s.scalars(select(AuditEvent).where(AuditEvent.device_id == store.device_id)
                         .order_by(AuditEvent.seq.desc()).limit(1)).one()
        fields = hashed_fields(last)
    fields["actor"] = "别人"
    forged = event_hash(last.prev_hash, fields)
    sql(store, "UPDATE audit_event SET actor = '别人', hash = ? WHERE id = ?", forged, hex_id(last.id))
    code, problems = status(capsys, store)
    assert code == 1 and any(f"第 {last.seq} 条与本机此前不同" in p for p in problems), problems


def test_legitimate_changes_after_finalizing_raise_no_alarm(capsys, store, issued, team, clock):
    """A re-inspection closing a hazard, 一单四制 fields, a corrected document: all recorded
    through the app, status stays intact (at the office: it alone records 一单四制)."""
    make_office(store)
    with store.session() as s:
        major = s.scalar(select(Hazard.id).where(Hazard.inspection_id == issued, Hazard.is_major))
    with store.transaction() as s:
        set_major_tracking(s, major, assigned_to="湘乡市应急管理局", ledger_no="ZD-2026-001",
                           reported_on=clock().date())
    clock.advance(days=3)
    with store.transaction() as s:
        re = start_reinspection(s, issued, team, clock())
    with store.transaction() as s:
        for n, review in enumerate(reviews(s, re.id)):
            # never before the deadline in force (models.reinspection_rules)
            record_review(s, re.id, review.hazard_id, rectified=n == 0,
                          new_deadline=None if n == 0 else (review.hazard.current_deadline or review.hazard.deadline) + timedelta(days=10),
                          note="现场复查：已按要求整改" if n == 0 else "")
    with store.transaction() as s:
        finalize_reinspection(s, re.id)
    issue_case_documents(store, re.id, people_signing(store, re.id))
    issue_case_documents(store, issued, people_signing(store, issued), correction=True)
    assert status(capsys, store) == (0, [])


def test_a_draft_marked_finalized_beside_the_app_is_reported(capsys, store, inspection_id):
    """A status set to finalized in the file, with no finalize in the chain, is named."""
    sql(store, "UPDATE inspection SET status = 'finalized', case_year = 2026, case_serial = 99")
    code, problems = status(capsys, store)
    assert code == 1 and problems == ["检查 2026年第99号 标为已定稿，但执法记录中没有定稿操作"]


def test_evidence_photo_replaced_on_disk_is_reported(capsys, store, issued):
    """The photo file under its content address overwritten with other bytes is found."""
    from models.photo_store import photo_path
    con = sqlite3.connect(store.db_path)
    sha, ext = con.execute("SELECT sha256, file_ext FROM photo").fetchone()
    con.close()
    photo_path(store.photos_dir, sha, ext).write_bytes(demo_photo("别的照片", T0))
    code, problems = status(capsys, store)
    assert code == 1 and any("照片 IMG_0001.jpg 的文件 与记录时不同" in p for p in problems), problems
