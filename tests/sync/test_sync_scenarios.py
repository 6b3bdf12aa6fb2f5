"""Multi-laptop days a reviewer walked through (each of these failed before it was fixed):
documents signed after the inspection reached the office, a re-inspection whose id sorts
before its original's, bundles arriving out of order, a deletion alone, a deletion relayed
through the office, the same old bundle imported twice."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from documents.demo_signing import demo_signing_input
from documents.service import issue_case_documents
from models.audit import AuditEvent, verify_chain
from models.demo import demo_photo
from models.enterprise_rules import EnterpriseInput, update_enterprise
from models.inspection import AnswerResult, HazardStatus
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.photo_rules import delete_photo, rotate_photo
from models.photo_store import attach_photo
from models.reinspection_rules import (finalize_reinspection, record_review, reviews,
                                       set_major_tracking, start_reinspection)
from models.tables import (Answer, Document, Enterprise, Hazard, Inspection, InspectionInspector,
                           InspectionStatus, Photo)
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import make_enterprise, valid_credit_code
from tests.sync.conftest import DEMO_NOW, dump

T1 = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def _finalized(store):
    with store.session() as s:
        return s.scalars(select(Inspection.id).where(Inspection.status == InspectionStatus.FINALIZED)
                         .order_by(Inspection.started_at)).first()


def _draft_photo(store):
    with store.session() as s:
        return s.scalar(select(Photo.id).join(Inspection, Photo.inspection_id == Inspection.id)
                        .where(Inspection.status == InspectionStatus.IN_PROGRESS))


def _documents(store) -> set:
    with store.session() as s:
        return set(s.scalars(select(Document.id)))


def _has_photo(store, photo_id) -> bool:
    with store.session() as s:
        return s.get(Photo, photo_id) is not None


def _reinspect_all_rectified(store, original, at):
    with store.session() as s:
        team = [m.inspector_id for m in s.scalars(select(InspectionInspector).where(
            InspectionInspector.inspection_id == original))]
    with store.transaction() as s:
        re = start_reinspection(s, original, team, at)
        for r in reviews(s, re.id):
            record_review(s, re.id, r.hazard_id, rectified=True, note="已整改")
        finalize_reinspection(s, re.id)
        return re.id


def test_documents_signed_after_the_first_sync_reach_the_office(laptop_a, office, tmp_path):
    """Finalize on site, sync, sign the documents (and later a correction), sync again."""
    (tmp_path / "stick").mkdir()
    export_bundle(laptop_a, tmp_path / "stick" / "1.fcb")
    import_bundle(office, tmp_path / "stick" / "1.fcb")
    inspection = _finalized(laptop_a)
    issued = issue_case_documents(laptop_a, inspection, demo_signing_input(laptop_a, inspection))
    export_bundle(laptop_a, tmp_path / "stick" / "2.fcb")
    report = import_bundle(office, tmp_path / "stick" / "2.fcb")
    assert report.total("conflict") == 0 and report.counts["new"]["document"] == len(issued)
    assert {d.id for d in issued} <= _documents(office)
    corrected = issue_case_documents(laptop_a, inspection,
                                     demo_signing_input(laptop_a, inspection), correction=True)
    export_bundle(laptop_a, tmp_path / "stick" / "3.fcb")
    assert import_bundle(office, tmp_path / "stick" / "3.fcb").total("conflict") == 0
    assert {d.id for d in corrected} <= _documents(office)
    with office.session() as s:
        assert verify_chain(s).intact


def test_reinspection_whose_id_sorts_before_its_original(laptop_a, office, tmp_path, monkeypatch):
    """Rows are written in id order; the references are checked at the commit, not per row."""
    original = _finalized(laptop_a)
    counter = iter(range(1, 10_000))
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    re_id = _reinspect_all_rectified(laptop_a, original, DEMO_NOW + timedelta(days=1))
    monkeypatch.undo()
    assert str(re_id) < str(original)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    assert import_bundle(office, tmp_path / "a.fcb").total("new") > 0
    with office.session() as s:
        assert s.get(Inspection, re_id).follows_inspection_id == original


def test_older_bundle_arriving_late_does_not_reopen_closed_hazards(laptop_a, laptop_b, office,
                                                                    tmp_path):
    """B re-inspected and closed the hazards; A's older bundle reaches the office after B's."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    original = _finalized(laptop_b)
    laptop_b.clock = lambda: T1
    _reinspect_all_rectified(laptop_b, original, T1 - timedelta(hours=1))
    export_bundle(laptop_b, tmp_path / "b.fcb")
    import_bundle(office, tmp_path / "b.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    with office.session() as s:
        statuses = set(s.scalars(select(Hazard.status).where(Hazard.inspection_id == original)))
    assert statuses == {HazardStatus.CLOSED}


def test_reinspection_closing_and_a_later_office_edit_both_survive(laptop_a, laptop_b, office,
                                                                   tmp_path):
    """B closes a major hazard by re-inspection; before B's bundle arrives the office records
    its 一单四制 facts on the same hazard. Different fields: the office keeps both."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    import_bundle(laptop_b, tmp_path / "a.fcb")
    original = _finalized(laptop_b)
    with laptop_b.session() as s:
        major = s.scalar(select(Hazard.id).where(Hazard.inspection_id == original,
                                                 Hazard.is_major.is_(True)))
    laptop_b.clock = lambda: T1
    _reinspect_all_rectified(laptop_b, original, T1 - timedelta(hours=1))
    office.clock = lambda: T1 + timedelta(hours=4)
    with office.transaction(label="一单四制") as s:
        set_major_tracking(s, major, assigned_to="王科长", ledger_no="ZD-2026-01",
                           reported_on=date(2026, 11, 25))
    export_bundle(laptop_b, tmp_path / "b.fcb")
    report = import_bundle(office, tmp_path / "b.fcb")
    with office.session() as s:
        hazard = s.get(Hazard, major)
        assert (hazard.status, hazard.assigned_to, hazard.ledger_no) == (
            HazardStatus.CLOSED, "王科长", "ZD-2026-01")
        assert verify_chain(s).intact
    assert report.counts["updated"].get("hazard", 0) >= 1
    export_bundle(office, tmp_path / "o.fcb", everything=True)  # and back to laptop B
    import_bundle(laptop_b, tmp_path / "o.fcb")
    with laptop_b.session() as s:
        hazard = s.get(Hazard, major)
        assert (hazard.status, hazard.assigned_to) == (HazardStatus.CLOSED, "王科长")


def test_a_deletion_alone_is_exported(laptop_a, office, tmp_path):
    """Nothing but a deleted draft photo since the last export: a bundle is still written."""
    (tmp_path / "stick").mkdir()
    photo = _draft_photo(laptop_a)
    export_bundle(laptop_a, tmp_path / "stick" / "1.fcb")
    import_bundle(office, tmp_path / "stick" / "1.fcb")
    with laptop_a.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    assert export_bundle(laptop_a, tmp_path / "stick" / "2.fcb").written
    import_bundle(office, tmp_path / "stick" / "2.fcb")
    assert not _has_photo(office, photo)


def test_deletion_relayed_by_the_office_does_not_override_a_later_change(laptop_a, laptop_b,
                                                                          office, tmp_path):
    """B turned the photo after A deleted it, so B keeps it; the office's echo of A's
    deletion (stamped at the office's import time) must not remove it either."""
    photo = _draft_photo(laptop_a)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    laptop_a.clock = lambda: datetime(2026, 11, 21, 1, 0, tzinfo=timezone.utc)
    with laptop_a.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    laptop_b.clock = lambda: datetime(2026, 11, 21, 2, 0, tzinfo=timezone.utc)
    with laptop_b.transaction(label="rotate_photo") as s:
        rotate_photo(s, photo)
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    office.clock = lambda: datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)
    import_bundle(office, tmp_path / "2.fcb")
    assert import_bundle(laptop_b, tmp_path / "2.fcb").counts["superseded"] == {"photo": 1}
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_b, tmp_path / "o.fcb")
    assert _has_photo(laptop_b, photo) and not _has_photo(office, photo)


def test_the_same_old_bundle_twice_says_nothing_changed(laptop_a, office, tmp_path):
    """An older bundle (its photo deleted since) imported a second time: no change, and said so."""
    photo = _draft_photo(laptop_a)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    export_bundle(laptop_a, tmp_path / "old" / "1.fcb")
    with laptop_a.transaction(label="delete_photo") as s:
        delete_photo(s, photo)
    export_bundle(laptop_a, tmp_path / "new" / "2.fcb")
    import_bundle(office, tmp_path / "new" / "2.fcb")
    import_bundle(office, tmp_path / "old" / "1.fcb")
    before = dump(office)
    again = import_bundle(office, tmp_path / "old" / "1.fcb")
    assert dump(office) == before
    assert again.changed_nothing and "该导出包此前已导入，本次没有任何改动" in again.lines()


def test_draft_finalized_on_another_laptop_replaces_the_local_draft_whole(laptop_a, laptop_b,
                                                                          tmp_path):
    """B added a photo to A's relayed draft; A finished and finalized it. On B the finalized
    version is the record: B's extra photo comes off it, kept in B's chain."""
    with laptop_a.session() as s:
        draft = s.scalar(select(Inspection.id).join(Answer, Answer.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS))
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    with laptop_b.transaction() as s:
        answer = s.scalar(select(Answer).where(Answer.inspection_id == draft))
        extra = attach_photo(s, laptop_b.photos_dir, draft, demo_photo("B", DEMO_NOW),
                             original_name="B.jpg", answer_id=answer.id).id
    with laptop_a.transaction() as s:
        done = {a.item_id for a in s.scalars(select(Answer).where(Answer.inspection_id == draft))}
        for item in inspection_items(s, draft):
            if item.id not in done:
                answer_item(s, draft, item.id, AnswerResult.COMPLIANT)
        finalize_inspection(s, draft)
    export_bundle(laptop_a, tmp_path / "2.fcb")
    report = import_bundle(laptop_b, tmp_path / "2.fcb")
    with laptop_a.session() as s:
        on_a = set(s.scalars(select(Photo.id).where(Photo.inspection_id == draft)))
    with laptop_b.session() as s:
        assert s.get(Inspection, draft).status == InspectionStatus.FINALIZED
        assert set(s.scalars(select(Photo.id).where(Photo.inspection_id == draft))) == on_a
        kept = s.scalar(select(AuditEvent.before).where(
            AuditEvent.entity_id == str(extra), AuditEvent.action == "delete"))
        assert kept is not None and "B.jpg" in kept and verify_chain(s).intact
    assert report.counts["deleted"] == {"photo": 1}


def test_a_drafts_old_bundle_after_its_finalized_one_is_no_conflict(laptop_a, office, tmp_path):
    """The stick with yesterday's draft is imported after today's finalized inspection: the
    old state is older, not a rival version — kept in the audit trail, no conflict shown."""
    with laptop_a.session() as s:
        draft = s.scalar(select(Inspection.id).join(Answer, Answer.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.IN_PROGRESS))
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    export_bundle(laptop_a, tmp_path / "old" / "1.fcb")
    laptop_a.clock = lambda: DEMO_NOW + timedelta(days=1)
    with laptop_a.transaction() as s:
        done = {a.item_id for a in s.scalars(select(Answer).where(Answer.inspection_id == draft))}
        for item in inspection_items(s, draft):
            if item.id not in done:
                answer_item(s, draft, item.id, AnswerResult.COMPLIANT)
        s.scalar(select(Answer).where(Answer.inspection_id == draft)).note = "终稿备注"
        finalize_inspection(s, draft)
    export_bundle(laptop_a, tmp_path / "new" / "2.fcb")
    import_bundle(office, tmp_path / "new" / "2.fcb")
    report = import_bundle(office, tmp_path / "old" / "1.fcb")
    assert report.total("conflict") == 0 and report.total("superseded") >= 1
    with office.session() as s:
        assert s.get(Inspection, draft).status == InspectionStatus.FINALIZED


def test_corrected_credit_code_that_another_record_holds_does_not_block_the_laptop(
        laptop_a, office, tmp_path):
    """The office registered the firm correctly; the laptop had it under a mistyped code and
    corrects it later. Its bundles still import: the office keeps its own code on that
    record, takes the rest, and says the two records need a look."""
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    right_code = valid_credit_code("91430381MA4L99999")
    other = make_enterprise(office, credit_code=right_code, name="湘乡市正确代码有限公司")
    with laptop_a.session() as s:
        firm = s.scalars(select(Enterprise).order_by(Enterprise.name)).first()
        data = EnterpriseInput(name=firm.name, credit_code=right_code, address="更正后的地址",
                               legal_representative=firm.legal_representative,
                               representative_post=firm.representative_post, phone=firm.phone,
                               has_dust=firm.has_dust, has_ammonia=firm.has_ammonia,
                               has_confined_space=firm.has_confined_space)
        firm_id, old_code = firm.id, firm.credit_code
    with laptop_a.transaction() as s:
        update_enterprise(s, firm_id, data)
    export_bundle(laptop_a, tmp_path / "2.fcb")
    report = import_bundle(office, tmp_path / "2.fcb")
    with office.session() as s:
        here = s.get(Enterprise, firm_id)
        assert (here.credit_code, here.address) == (old_code, "更正后的地址")
        assert s.get(Enterprise, other).credit_code == right_code
    assert any(str(other) in line and "管理员核对" in line for line in report.lines())
