"""Attacks on what a finalized case still lets change (models.record_policy: a hazard's
life after the visit, HAZARD_LIFECYCLE_KEYS): a laptop closes off (销号) a major hazard at
the office without any re-inspection — with the sqlite3 command line (no event), or with
FieldCheck's own store on the laptop (the flush hook writes a valid, signed update event).

销号 is the end of 闭环管理: it follows a finalized re-inspection that found the hazard
rectified (models.reinspection_rules.finalize_reinspection), never a bare status change.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from sqlalchemy import select

from models.inspection import Hazard, HazardReview, HazardStatus
from models.tables import Inspection
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import dump


def _open_major(store):
    with store.session() as s:
        return s.scalars(select(Hazard.id).join(Inspection, Hazard.inspection_id == Inspection.id)
                         .where(Inspection.status == "finalized", Hazard.is_major.is_(True),
                                Hazard.status == HazardStatus.OPEN).order_by(Hazard.id)).first()


def _status_at(store, hazard_id):
    with store.session() as s:
        return s.get(Hazard, hazard_id).status


def _at_office_first(laptop_a, office, tmp_path):
    hazard = _open_major(laptop_a)
    assert hazard is not None
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    return hazard


def _closed_at_office(office, path, hazard) -> bool:
    """Import; True when the office now shows the hazard 已销号 (a refusal leaves it as it was)."""
    before = dump(office)
    try:
        import_bundle(office, path)
    except BundleError as refused:
        assert "导出包" in refused.text() and dump(office) == before
    return _status_at(office, hazard) == HazardStatus.CLOSED


def test_a_major_hazard_closed_with_sqlite3_stays_open_at_the_office(laptop_a, office, tmp_path):
    """The bare row edit (status, closed_at, a newer updated_at) has no event behind it, no
    re-inspection, no seal; the office must keep the hazard open."""
    hazard = _at_office_first(laptop_a, office, tmp_path)
    con = sqlite3.connect(laptop_a.db_path)
    con.execute("UPDATE hazard SET status = 'closed', closed_at = '2026-11-30 08:00:00.000000', "
                "updated_at = '2026-11-30 08:00:00.000000' WHERE id = ?", (hazard.hex,))
    con.commit()
    con.close()
    (tmp_path / "2").mkdir()
    export_bundle(laptop_a, tmp_path / "2" / "a.fcb", everything=True)
    assert not _closed_at_office(office, tmp_path / "2" / "a.fcb", hazard)


def test_a_major_hazard_is_not_closed_off_at_the_office_without_a_reinspection(
        laptop_a, office, tmp_path):
    """The laptop's own store, scripted: one update of the hazard, no re-inspection started,
    no review, no after photo. The office must not show it 已销号."""
    hazard = _at_office_first(laptop_a, office, tmp_path)
    with laptop_a.transaction(actor="某人") as s:
        row = s.get(Hazard, hazard)
        row.status, row.closed_at = HazardStatus.CLOSED, datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
    with laptop_a.session() as s:
        assert s.scalar(select(HazardReview.id).where(HazardReview.hazard_id == hazard)) is None
    (tmp_path / "2").mkdir()
    export_bundle(laptop_a, tmp_path / "2" / "a.fcb")
    assert not _closed_at_office(office, tmp_path / "2" / "a.fcb", hazard)
