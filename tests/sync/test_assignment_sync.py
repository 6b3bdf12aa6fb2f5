"""交办 records travel from the office to the laptops in the office's bundle; a laptop never
makes one: a bundle carrying a 交办 a laptop wrote is refused at the office, the store as it
was."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from models.assignment import HazardAssignment
from models.assignment_rules import ASSIGNED, assign_hazard, assignment_problems
from models.errors import FieldCheckError
from models.inspection import Hazard, Inspection, InspectionStatus
from models.ledger import ledger_row
from models.local_time import agency_date
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import office_check_taken_out
from tests.sync.conftest import dump

T1 = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def _open_major(store):
    with store.session() as s:
        return s.scalar(select(Hazard.id).join(Inspection, Inspection.id == Hazard.inspection_id)
                        .where(Hazard.is_major.is_(True), Inspection.status == InspectionStatus.FINALIZED)
                        .order_by(Hazard.id))


def test_the_office_assignment_reaches_the_laptop(laptop_a, office, tmp_path):
    """The office assigns a hazard from laptop A, then re-assigns it; A imports the office's
    bundle and its ledger shows the one in force, the first kept beside it."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    major = _open_major(office)
    office.clock = lambda: T1
    day = agency_date(T1)
    with office.transaction(actor="办公室", label="assign_hazard") as s:
        assign_hazard(s, major, to="湘乡市月山镇人民政府", deadline=day + timedelta(days=10))
    with office.transaction(actor="办公室", label="assign_hazard") as s:
        second = assign_hazard(s, major, to="湘乡市工业和信息化局", deadline=day + timedelta(days=20),
                               note="改由工信局督办")
    export_bundle(office, tmp_path / "o.fcb", everything=True)
    import_bundle(laptop_a, tmp_path / "o.fcb")
    with laptop_a.session() as s:
        assert s.scalar(select(func.count()).select_from(HazardAssignment)) == 2
        assert assignment_problems(s) == []  # each as its create event, relayed, recorded it
        row = ledger_row(s, major, day)
    assert (row.assignment.id, row.assigned_to, row.assignment_state) == (
        second.id, "湘乡市工业和信息化局", ASSIGNED)
    # and back: the laptop's next bundle relays them unchanged
    export_bundle(laptop_a, tmp_path / "a2.fcb", everything=True)
    report = import_bundle(office, tmp_path / "a2.fcb")
    assert report.counts["new"].get("hazard_assignment", 0) == 0
    with office.session() as s:
        assert assignment_problems(s) == []


def test_a_laptop_made_assignment_is_refused_at_the_office(laptop_a, office, tmp_path):
    """A laptop build that writes a 交办 anyway (its office check taken out, the domain's
    and the flush's): its bundle is refused at the office with one line, nothing imported."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    major = _open_major(laptop_a)
    with office_check_taken_out(), laptop_a.transaction(label="assign_hazard") as s:
        s.add(HazardAssignment(hazard_id=major, assignee="某某", deadline=agency_date(T1),
                               note="", assigned_at=T1, assigned_by=""))
    export_bundle(laptop_a, tmp_path / "forged.fcb")
    before = dump(office)
    with pytest.raises(FieldCheckError, match="交办"):
        import_bundle(office, tmp_path / "forged.fcb")
    assert dump(office) == before
