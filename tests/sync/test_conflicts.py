"""Finalized records never overwritten (conflicts kept aside); for drafts the newer wins."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from models.audit import AuditEvent, verify_chain
from models.inspection_rules import save_note
from models.tables import Answer, Inspection, InspectionStatus
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import Clock
from tests.sync.conftest import DEMO_NOW, dump


def _finalized_id(store):
    with store.session() as s:
        return s.scalars(select(Inspection.id).where(
            Inspection.status == InspectionStatus.FINALIZED).order_by(Inspection.started_at)).first()


def _draft_answer(store):
    with store.session() as s:
        return s.execute(select(Answer.inspection_id, Answer.item_id, Answer.id).join(Inspection).where(
            Inspection.status == InspectionStatus.IN_PROGRESS).order_by(Answer.answered_at)).first()


def _note(store, answer_id):
    with store.session() as s:
        return s.scalar(select(Answer.note).where(Answer.id == answer_id))


def test_two_versions_of_a_finalized_record_are_a_conflict_kept_aside(laptop_a, office, tmp_path):
    """A finalized inspection that arrives changed is not overwritten, but listed and kept."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    finalized = _finalized_id(laptop_a)
    with laptop_a.engine.begin() as conn:  # another version, made behind the guard's back
        conn.execute(update(Inspection.__table__).where(Inspection.id == finalized)
                     .values(place="被改动的检查场所", updated_at=DEMO_NOW + timedelta(days=1)))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    report = import_bundle(office, tmp_path / "2.fcb")
    assert report.conflicts == [("inspection", str(finalized))]
    assert any("冲突" in line for line in report.lines())
    with office.session() as s:
        assert s.get(Inspection, finalized).place != "被改动的检查场所"
        kept = s.scalar(select(AuditEvent.after).where(AuditEvent.action == "conflict"))
        assert verify_chain(s).intact
    assert "被改动的检查场所" in kept
    side = report.conflicts_dir / "inspection" / f"{finalized}.json"
    assert json.loads(side.read_text("utf-8"))["incoming"]["place"] == "被改动的检查场所"
    before = dump(office)
    again = import_bundle(office, tmp_path / "2.fcb")
    assert again.total("conflict") == 1 and dump(office) == before


def test_newer_draft_wins_and_older_is_kept_in_audit_trail(laptop_a, office, tmp_path):
    """A draft changed later on the laptop updates the office; the office's older row is audited."""
    (tmp_path / "stick").mkdir()
    export_bundle(laptop_a, tmp_path / "stick" / "1.fcb")
    import_bundle(office, tmp_path / "stick" / "1.fcb")
    inspection_id, item_id, answer_id = _draft_answer(laptop_a)
    laptop_a.clock = Clock(DEMO_NOW + timedelta(days=1))
    with laptop_a.transaction() as s:
        save_note(s, inspection_id, item_id, "笔记：复看后补充")
    report = import_bundle(office, export_bundle(laptop_a, tmp_path / "stick" / "2.fcb").path)
    assert report.counts["updated"] == {"answer": 1}
    assert _note(office, answer_id) == "笔记：复看后补充"
    with office.session() as s:
        before = s.scalar(select(AuditEvent.before).where(
            AuditEvent.action == "update", AuditEvent.label == "import"))
    assert "笔记" not in before and json.loads(before)["id"] == str(answer_id)


def test_older_draft_loses_and_is_kept_in_audit_trail(laptop_a, office, tmp_path):
    """A draft the office changed later is kept; the laptop's older version goes to the audit trail."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    inspection_id, item_id, answer_id = _draft_answer(laptop_a)
    laptop_a.clock = Clock(DEMO_NOW + timedelta(days=1))
    with laptop_a.transaction() as s:
        save_note(s, inspection_id, item_id, "笔记：笔记本上的版本")
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    office.clock = Clock(DEMO_NOW + timedelta(days=2))
    with office.transaction() as s:
        office_item = s.get(Answer, answer_id).item_id
        save_note(s, inspection_id, office_item, "笔记：办公室的较新版本")
    report = import_bundle(office, tmp_path / "2.fcb")
    assert report.counts["superseded"] == {"answer": 1}
    assert _note(office, answer_id) == "笔记：办公室的较新版本"
    with office.session() as s:
        kept = s.scalar(select(AuditEvent.after).where(AuditEvent.action == "superseded"))
    assert "笔记本上的版本" in kept
    before = dump(office)
    import_bundle(office, tmp_path / "2.fcb")
    assert dump(office) == before
