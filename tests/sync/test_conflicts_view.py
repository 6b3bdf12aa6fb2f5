"""Reading the conflicts an import kept aside, as the conflicts screen shows them."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from datetime import timedelta

from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.orm import Session

from models.tables import (Answer, ChecklistItem, Document, Enterprise, Hazard, Inspection,
                           InspectionInspector, InspectionStatus, Inspector)
from sync import conflicts as conflicts_module
from sync.conflicts import (ABSENT, COLUMN_LABELS, KIND_DOCUMENT_FILE, KIND_RECORD, LINK_TABLES,
                            list_conflicts, value_text)
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import DEMO_NOW

CHANGED_PLACE = "被改动的检查场所"
LATER = DEMO_NOW + timedelta(days=1)
PDF_A, PDF_B = b"%PDF-1.4 local version", b"%PDF-1.4 the other laptop's version"
PDF_NAME = "现场检查记录-冲突.pdf"


def first_finalized(store):
    with store.session() as s:
        return s.execute(select(Inspection.id, Inspection.place, Inspection.case_year,
                                Inspection.case_serial)
                         .where(Inspection.status == InspectionStatus.FINALIZED)
                         .order_by(Inspection.started_at)).first()


def behind_the_guard(store, *statements) -> None:
    """Change finalized records the way a broken or tampered laptop would (the guard refuses)."""
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def change_place(store, inspection_id, place: str = CHANGED_PLACE, at=LATER):
    return update(Inspection.__table__).where(Inspection.id == inspection_id).values(
        place=place, updated_at=at)


def import_changed_place(laptop_a, office, tmp_path, place: str = CHANGED_PLACE, name="2.fcb"):
    """The office holds laptop A's records; A then sends another version of a finalized
    inspection: the real import keeps it aside. Returns the second import's report."""
    if not (tmp_path / "1.fcb").exists():
        export_bundle(laptop_a, tmp_path / "1.fcb")
        import_bundle(office, tmp_path / "1.fcb")
    finalized = first_finalized(laptop_a).id
    behind_the_guard(laptop_a, change_place(laptop_a, finalized, place))
    export_bundle(laptop_a, tmp_path / name, everything=True)
    return import_bundle(office, tmp_path / name)


def import_new_row_on_finalized(laptop_a, office, tmp_path):
    """A third inspector added on laptop A to an inspection the office holds finalized."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    finalized = first_finalized(laptop_a).id
    with laptop_a.session() as s:
        third = s.scalars(select(Inspector.id).where(Inspector.name == "王建军")).one()
    row_id = uuid.uuid4()
    behind_the_guard(laptop_a, insert(InspectionInspector.__table__).values(
        id=row_id, inspection_id=finalized, inspector_id=third, position=3, created_at=LATER,
        updated_at=LATER, device_id=laptop_a.device_id))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    return import_bundle(office, tmp_path / "2.fcb"), row_id


def import_other_document_bytes(laptop_a, office, tmp_path):
    """A finalized document whose PDF laptop A later holds with other bytes."""
    finalized = first_finalized(laptop_a).id
    folder = laptop_a.data_dir / "documents"
    folder.mkdir(exist_ok=True)
    (folder / PDF_NAME).write_bytes(PDF_A)
    doc_id = uuid.uuid4()
    behind_the_guard(laptop_a, insert(Document.__table__).values(
        id=doc_id, inspection_id=finalized, kind="inspection_record",
        number="（湘乡）应急检记〔2026〕1号", file_name=f"documents/{PDF_NAME}",
        sha256=hashlib.sha256(PDF_A).hexdigest(), finalized_at=DEMO_NOW, created_at=DEMO_NOW,
        updated_at=DEMO_NOW, device_id=laptop_a.device_id))
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    (folder / PDF_NAME).write_bytes(PDF_B)
    behind_the_guard(laptop_a, update(Document.__table__).where(Document.id == doc_id).values(
        sha256=hashlib.sha256(PDF_B).hexdigest(), updated_at=LATER))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    return import_bundle(office, tmp_path / "2.fcb")


def import_new_answer_and_hazard(laptop_a, office, tmp_path):
    """Laptop A adds a non-compliant answer and its hazard to an inspection the office holds
    finalized: both are kept aside, so the hazard points at an answer the office never got."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    finalized = first_finalized(laptop_a).id
    with laptop_a.session() as s:
        inspection = s.get(Inspection, finalized)
        enterprise_id = inspection.enterprise_id
        answered = select(Answer.item_id).where(Answer.inspection_id == finalized)
        item = s.scalars(select(ChecklistItem).where(ChecklistItem.id.not_in(answered))
                         .order_by(ChecklistItem.code)).first()
        item_id, item_code = item.id, item.code
    answer_id, hazard_id = uuid.uuid4(), uuid.uuid4()
    stamps = {"created_at": LATER, "updated_at": LATER, "device_id": laptop_a.device_id}
    behind_the_guard(
        laptop_a,
        insert(Answer.__table__).values(id=answer_id, inspection_id=finalized, item_id=item_id,
                                        result="noncompliant", note="后补的答复",
                                        answered_at=LATER, **stamps),
        insert(Hazard.__table__).values(
            id=hazard_id, inspection_id=finalized, answer_id=answer_id, item_id=item_id,
            enterprise_id=enterprise_id, description="后补的隐患", legal_basis="依据",
            is_major=False, rectification="立即整改", deadline_days=7,
            deadline=LATER.date() + timedelta(days=7), status="open", found_at=LATER, **stamps))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    report = import_bundle(office, tmp_path / "2.fcb")
    return report, answer_id, item_code


def short(value) -> str:
    return str(value)[:8] + "…"


def by_column(conflict):
    return {row.column: row for row in conflict.fields()}


# --------------------------------------------------------------------------- records

def test_a_changed_finalized_inspection_shows_both_versions(laptop_a, office, tmp_path):
    """The kept local place and the imported place side by side; only the changed fields flagged."""
    original = first_finalized(laptop_a)
    report = import_changed_place(laptop_a, office, tmp_path)
    import_bundle(office, tmp_path / "2.fcb")  # the same bundle again: still one conflict
    [conflict] = list_conflicts(office.data_dir)
    assert (conflict.kind, conflict.table) == (KIND_RECORD, "inspection")
    assert conflict.table_label == "检查"
    assert conflict.record_id == str(original.id) and conflict.bundle_id == report.bundle_id
    assert conflict.from_device == laptop_a.device_id
    assert conflict.path == report.conflicts_dir / "inspection" / f"{original.id}.json"
    assert conflict.folder == report.conflicts_dir / "inspection"
    assert conflict.description == (f"{original.place} "
                                    f"{original.case_year}年第{original.case_serial}号")
    rows = by_column(conflict)
    place = rows["place"]
    assert (place.label, place.local, place.incoming, place.differs) == (
        "检查场所", original.place, CHANGED_PLACE, True)
    assert rows["status"].local == rows["status"].incoming == "已定稿"
    assert not rows["status"].differs and not rows["enterprise_id"].differs
    assert rows["updated_at"].differs  # the other laptop's version is the later one
    flags = [row.differs for row in conflict.fields()]
    assert flags == sorted(flags, reverse=True)  # every differing field before the others
    assert {r.column for r in conflict.fields() if r.differs} == {"place", "updated_at"}


def test_a_changed_hazard_is_described_by_its_text(laptop_a, office, tmp_path):
    """A hazard reads as its (kept, local) description, its major flag in Chinese."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    with laptop_a.session() as s:
        hazard = s.scalars(select(Hazard).where(Hazard.is_major).order_by(Hazard.found_at)).first()
        hazard_id, text = hazard.id, hazard.description
    behind_the_guard(laptop_a, update(Hazard.__table__).where(Hazard.id == hazard_id).values(
        description="另一台电脑上的描述", is_major=False, updated_at=LATER))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    import_bundle(office, tmp_path / "2.fcb")
    [conflict] = list_conflicts(office.data_dir)
    assert conflict.table_label == "隐患"
    assert conflict.description.startswith("【重大】" + text[:10])
    assert len(conflict.description) <= 40 and conflict.description.endswith("…")
    rows = by_column(conflict)
    assert (rows["description"].local, rows["description"].incoming) == (text, "另一台电脑上的描述")
    assert (rows["is_major"].label, rows["is_major"].local, rows["is_major"].incoming) == (
        "重大事故隐患", "是", "否")


def test_a_new_row_on_a_finalized_inspection_has_no_local_version(laptop_a, office, tmp_path):
    """Nothing local to compare: every field is the imported one, the local side says so."""
    report, row_id = import_new_row_on_finalized(laptop_a, office, tmp_path)
    assert report.conflicts == [("inspection_inspector", str(row_id))]
    [conflict] = list_conflicts(office.data_dir)
    assert conflict.local_missing and conflict.local == {}
    assert conflict.table_label == "检查人员" and conflict.description == "第3位检查人员"
    rows = conflict.fields()
    assert rows and all(r.differs and r.local == ABSENT for r in rows)
    assert by_column(conflict)["position"].incoming == "3"


# --------------------------------------------------------------------------- linked records

def test_with_a_session_linked_columns_read_as_names(laptop_a, office, tmp_path):
    """企业 and 当前检查项 read as the enterprise's name and the item's code and question,
    each with a short id; without a session they stay the bare ids, as before."""
    import_changed_place(laptop_a, office, tmp_path)
    [bare] = list_conflicts(office.data_dir)
    with office.session() as s:
        [named] = list_conflicts(office.data_dir, session=s)
        inspection = s.get(Inspection, uuid.UUID(named.record_id))
        enterprise = s.get(Enterprise, inspection.enterprise_id).name
        item = s.get(ChecklistItem, inspection.current_item_id)
        item_id, item_code, question = item.id, item.code, item.question
    eid = str(inspection.enterprise_id)
    assert by_column(bare)["enterprise_id"].local == eid  # no session: the id, unchanged
    rows = by_column(named)
    company = rows["enterprise_id"]
    assert company.label == "企业"
    assert company.local == company.incoming == f"{enterprise}（{short(eid)}）"
    assert (company.local_id, company.incoming_id, company.differs) == (eid, eid, False)
    current = rows["current_item_id"].local
    assert current.startswith(f"{item_code} {question[:10]}")
    assert current.endswith(f"（{short(item_id)}）")
    assert len(current) < len(question) + 20  # a long question is shortened
    assert rows["follows_inspection_id"].local == "（空）"
    # the other columns are as without a session
    assert rows["place"] == by_column(bare)["place"]
    assert rows["id"].local == named.record_id


def test_a_link_to_a_record_not_here_says_so(laptop_a, office, tmp_path):
    """The kept-aside hazard points at its answer, kept aside too: the office has no such
    answer. 所属检查 reads as place, date and case number; 检查项 as the item's code."""
    report, answer_id, item_code = import_new_answer_and_hazard(laptop_a, office, tmp_path)
    assert sorted(t for t, _ in report.conflicts) == ["answer", "hazard"]
    original = first_finalized(laptop_a)
    with office.session() as s:
        conflicts = {c.table: c for c in list_conflicts(office.data_dir, session=s)}
        started = s.get(Inspection, original.id).started_at.astimezone()
    hazard = by_column(conflicts["hazard"])
    assert hazard["answer_id"].incoming == f"{ABSENT}（{short(answer_id)}）"
    assert hazard["answer_id"].incoming_id == str(answer_id)
    assert hazard["answer_id"].local == ABSENT  # nothing local at all, as before
    assert hazard["inspection_id"].incoming == (
        f"{original.place} {started:%Y-%m-%d} "
        f"{original.case_year}年第{original.case_serial}号（{short(original.id)}）")
    assert hazard["item_id"].incoming.startswith(item_code + " ")
    answer = by_column(conflicts["answer"])
    assert answer["inspection_id"].incoming == hazard["inspection_id"].incoming
    assert answer["item_id"].incoming == hazard["item_id"].incoming


def test_inspector_names_carry_the_certificate(laptop_a, office, tmp_path):
    _report, _row = import_new_row_on_finalized(laptop_a, office, tmp_path)
    with office.session() as s:
        [conflict] = list_conflicts(office.data_dir, session=s)
        inspector = s.scalars(select(Inspector).where(Inspector.name == "王建军")).one()
    shown = by_column(conflict)["inspector_id"].incoming
    assert shown == f"王建军 执法证号 {inspector.certificate_no}（{short(inspector.id)}）"


def test_an_unreadable_store_leaves_the_ids(laptop_a, office, tmp_path, caplog):
    """A lookup that fails does not hide the conflict: the ids show as without a session."""
    import_changed_place(laptop_a, office, tmp_path)
    engine = create_engine("sqlite://")  # a database without the tables: every read fails
    try:
        with Session(engine) as s, caplog.at_level(logging.WARNING, "sync.conflicts"):
            [conflict] = list_conflicts(office.data_dir, session=s)
    finally:
        engine.dispose()
    assert by_column(conflict)["enterprise_id"].local == conflict.local["enterprise_id"]
    assert "无法读取关联记录" in caplog.text


def test_every_link_column_has_a_label_and_a_namer():
    assert set(LINK_TABLES) <= set(COLUMN_LABELS)
    assert set(conflicts_module._NAMERS) == set(LINK_TABLES.values())


def test_every_column_that_can_conflict_reads_in_chinese():
    """A column added to a table whose versions an import keeps aside needs its label here."""
    from models.tables import Base
    unlabelled = {f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables
                  if conflicts_module.can_be_kept_aside(t)
                  for c in t.columns if c.name not in COLUMN_LABELS}
    assert unlabelled == set()


# --------------------------------------------------------------------------- document files

def test_a_document_with_other_bytes_lists_both_files(laptop_a, office, tmp_path):
    """Both PDFs can be found: the local one kept in place, the imported one set aside."""
    report = import_other_document_bytes(laptop_a, office, tmp_path)
    conflicts = list_conflicts(office.data_dir)
    assert [c.table for c in conflicts] == ["document", "documents"]
    record, document = conflicts
    assert record.table_label == "文书" and record.description == "（湘乡）应急检记〔2026〕1号"
    assert document.kind == KIND_DOCUMENT_FILE and document.table_label == "文书文件"
    assert document.path == report.conflicts_dir / "documents" / PDF_NAME
    assert document.path.read_bytes() == PDF_B
    assert document.local_path == office.data_dir / "documents" / PDF_NAME
    assert document.local_path.read_bytes() == PDF_A
    assert document.from_device == laptop_a.device_id
    assert PDF_NAME in document.description and "应急检记" in document.description
    rows = by_column(document)
    assert list(rows) == ["size", "sha256", "name"]
    assert rows["sha256"].differs and rows["size"].differs and not rows["name"].differs
    assert rows["sha256"].local.startswith(hashlib.sha256(PDF_A).hexdigest()[:16])
    assert rows["sha256"].incoming.startswith(hashlib.sha256(PDF_B).hexdigest()[:16])
    assert rows["size"].incoming.startswith(f"{len(PDF_B)} 字节")


def test_a_document_file_whose_local_copy_is_gone_says_so(laptop_a, office, tmp_path):
    import_other_document_bytes(laptop_a, office, tmp_path)
    (office.data_dir / "documents" / PDF_NAME).unlink()
    document = list_conflicts(office.data_dir)[-1]
    assert all(r.local == "（本机文件不存在）" and r.differs for r in document.fields())


# --------------------------------------------------------------------------- damage, filter, order

def test_an_unreadable_conflict_file_is_listed_with_the_reason(laptop_a, office, tmp_path):
    """A damaged file does not hide the good ones, nor the fact that something is there."""
    report = import_changed_place(laptop_a, office, tmp_path)
    folder = report.conflicts_dir / "inspection"
    (folder / "half-written.json").write_bytes(b'{"table": "inspection", "incom')
    (folder / "not-a-record.json").write_text("[1, 2, 3]", "utf-8")
    (folder / "bad-bytes.json").write_bytes(b"\xff\xfe\x00garbage")
    conflicts = list_conflicts(office.data_dir)
    assert len(conflicts) == 4
    good, *broken = conflicts  # readable conflicts first
    assert not good.problem and good.fields()
    assert {c.path.name for c in broken} == {"half-written.json", "not-a-record.json",
                                             "bad-bytes.json"}
    for c in broken:
        assert c.problem and c.fields() == [] and c.table_label == "检查"
        assert c.description == f"无法读取：{c.path.name}"
    reasons = {c.path.name: c.problem for c in broken}
    assert "已损坏" in reasons["half-written.json"]
    assert "不完整" in reasons["not-a-record.json"]
    assert "已损坏" in reasons["bad-bytes.json"]


def test_conflicts_newest_bundle_first_and_filtered_by_bundle(laptop_a, office, tmp_path):
    """Two imports, two bundles: the newest import on top, each bundle alone on request."""
    first = import_changed_place(laptop_a, office, tmp_path, place="第一次改动", name="2.fcb")
    second = import_changed_place(laptop_a, office, tmp_path, place="第二次改动", name="3.fcb")
    assert first.bundle_id != second.bundle_id
    assert [c.bundle_id for c in list_conflicts(office.data_dir)] == [second.bundle_id,
                                                                      first.bundle_id]
    # The order follows when a bundle's conflicts were saved, not its (random) id.
    old = DEMO_NOW.timestamp() - 86400 * 365
    for path in second.conflicts_dir.rglob("*.json"):
        os.utime(path, (old, old))
    assert [c.bundle_id for c in list_conflicts(office.data_dir)] == [first.bundle_id,
                                                                      second.bundle_id]
    [only] = list_conflicts(office.data_dir, second.bundle_id)
    assert only.bundle_id == second.bundle_id and by_column(only)["place"].incoming == "第二次改动"
    assert list_conflicts(office.data_dir, "no-such-bundle") == []
    assert list_conflicts(office.data_dir, "../") == []


def test_no_conflicts_folder_means_no_conflicts(office, tmp_path):
    assert list_conflicts(office.data_dir) == []
    assert list_conflicts(tmp_path / "does-not-exist") == []


def test_values_read_as_the_user_knows_them():
    assert value_text("status", "finalized") == "已定稿"
    assert value_text("status", "open") == "待整改"
    assert value_text("result", "noncompliant") == "不符合"
    assert value_text("kind", "rectification_order") == "责令限期整改指令书"
    assert value_text("escalated", True) == "是" and value_text("escalated", False) == "否"
    assert value_text("closed_at", None) == "（空）" and value_text("note", "") == "（空）"
    assert value_text("case_serial", 7) == "7"
    moment = "2026-11-20T08:00:00+00:00"
    assert value_text("found_at", moment).startswith("2026-11-20 ")
    assert value_text("note", "状态：finalized") == "状态：finalized"
    assert json.loads(value_text("seed_refs", ["粉尘-1"])) == ["粉尘-1"]
