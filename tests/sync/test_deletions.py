"""A photo deleted on the laptop is deleted at the office too — but never a finalized record's,
never one changed here since, and an older bundle does not bring it back."""
from __future__ import annotations

from sqlalchemy import select

from models.audit import AuditEvent, chain_head, make_event, verify_chain
from models.base import utcnow
from models.photo_rules import delete_photo, rotate_photo
from models.tables import Inspection, InspectionStatus, Photo
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import dump


def _draft_photo(store):
    with store.session() as s:
        return s.scalar(select(Photo.id).join(Inspection, Photo.inspection_id == Inspection.id)
                        .where(Inspection.status == InspectionStatus.IN_PROGRESS))


def _has_photo(store, photo_id) -> bool:
    with store.session() as s:
        return s.get(Photo, photo_id) is not None


def _delete(store, photo_id) -> None:
    with store.transaction(label="delete_photo") as s:
        delete_photo(s, photo_id)


def test_deleted_draft_photo_is_deleted_at_the_office(laptop_a, office, tmp_path):
    """Exported, then deleted on the laptop: the next import removes it, says so, and the
    chains stay intact; importing that bundle again changes nothing."""
    photo = _draft_photo(laptop_a)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    assert _has_photo(office, photo)
    _delete(laptop_a, photo)
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    report = import_bundle(office, tmp_path / "2.fcb")
    assert report.counts["deleted"] == {"photo": 1}
    assert "删除 1 条（导出方已删除" in report.lines()[0]
    assert not _has_photo(office, photo)
    with office.session() as s:
        assert verify_chain(s).intact
        mine = s.scalar(select(AuditEvent).where(AuditEvent.device_id == office.device_id,
                                                 AuditEvent.entity_id == str(photo),
                                                 AuditEvent.action == "delete"))
        assert mine is not None and '"sha256"' in mine.before  # what was deleted is on record
    before = dump(office)
    again = import_bundle(office, tmp_path / "2.fcb")
    assert again.changed_nothing and dump(office) == before


def test_older_bundle_does_not_bring_a_deleted_photo_back(laptop_a, office, tmp_path):
    """The deletion arrives first, the older bundle with the photo second: it stays deleted."""
    photo = _draft_photo(laptop_a)
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    export_bundle(laptop_a, tmp_path / "old" / "1.fcb")
    _delete(laptop_a, photo)
    export_bundle(laptop_a, tmp_path / "new" / "2.fcb")
    import_bundle(office, tmp_path / "new" / "2.fcb")
    report = import_bundle(office, tmp_path / "old" / "1.fcb")
    assert not _has_photo(office, photo)
    assert report.counts["superseded"].get("photo") == 1


def test_change_made_here_after_the_deletion_wins(laptop_a, laptop_b, tmp_path):
    """Laptop B turned the photo after A deleted it: B keeps it and records the deletion."""
    photo = _draft_photo(laptop_a)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(laptop_b, tmp_path / "1.fcb")
    _delete(laptop_a, photo)
    with laptop_b.transaction(label="rotate_photo") as s:
        rotate_photo(s, photo)
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    report = import_bundle(laptop_b, tmp_path / "2.fcb")
    assert _has_photo(laptop_b, photo)
    assert "deleted" not in report.counts and report.counts["superseded"] == {"photo": 1}
    with laptop_b.session() as s:
        assert s.scalar(select(AuditEvent.id).where(
            AuditEvent.device_id == laptop_b.device_id, AuditEvent.entity_id == str(photo),
            AuditEvent.action == "superseded")) is not None


def test_finalized_records_are_never_deleted_by_an_import(laptop_a, office, tmp_path):
    """A delete event for a finalized inspection's photo (forged into the laptop's chain:
    the app itself refuses such a delete) does not remove the office's copy."""
    with laptop_a.session() as s:
        photo = s.scalar(select(Photo.id).join(Inspection, Photo.inspection_id == Inspection.id)
                         .where(Inspection.status == InspectionStatus.FINALIZED))
    export_bundle(laptop_a, tmp_path / "1.fcb")
    import_bundle(office, tmp_path / "1.fcb")
    with laptop_a.transaction(label="forged") as s:
        seq, prev = chain_head(s, laptop_a.device_id)
        s.add(make_event(device_id=laptop_a.device_id, seq=seq + 1, prev_hash=prev, at=utcnow(),
                         actor="测试", action="delete", label="forged", entity_type="photo",
                         entity_id=str(photo), before={}, after={}))
    with laptop_a.session() as s:  # a bundle of another inspection: the event, not the photo
        draft = s.scalar(select(Inspection.id).where(Inspection.status == InspectionStatus.IN_PROGRESS))
    export_bundle(laptop_a, tmp_path / "2.fcb", inspection_ids=[draft])
    report = import_bundle(office, tmp_path / "2.fcb")
    assert _has_photo(office, photo)
    assert "deleted" not in report.counts and report.counts["superseded"] == {"photo": 1}
