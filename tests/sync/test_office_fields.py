"""Fields of a shared row only the office sets (models.record_policy `office_fields`): an
inspector's 在岗 (名录库). The office's value travels to the laptops and stays at the office,
while the register's other fields merge as before — no honest laptop's bundle is refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from models.plan_people import set_availability
from models.registry import Inspector
from models.settings_rules import update_inspector
from sync.export import export_bundle
from sync.merge import import_bundle

T1 = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
CERT = "43038120006"  # 周文斌, one of the demo's inspectors


def _person(store) -> Inspector:
    with store.session() as s:
        person = s.scalar(select(Inspector).where(Inspector.certificate_no == CERT))
        s.expunge(person)
        return person


def _send(source, target, path, **kw) -> None:
    path.parent.mkdir(exist_ok=True)
    export_bundle(source, path, **kw)
    import_bundle(target, path)


def test_the_offices_availability_reaches_the_laptop_and_a_later_edit_there_keeps_it(
        laptop_a, office, tmp_path):
    """The office marks 周文斌 不在岗; laptop A, not knowing yet, corrects his name later. A's
    bundle is taken (the new name) and the office keeps him 不在岗; the office's next bundle
    gives A the 不在岗 although A's copy of the row is the newer one; A's next bundle is
    taken too, and he stays 不在岗 at the office."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    office.clock = lambda: T1
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, False, "病假")
    laptop_a.clock = lambda: T1 + timedelta(hours=2)
    with laptop_a.transaction(actor="张卫东") as s:
        update_inspector(s, _person(laptop_a).id, "周文彬", CERT, True)
    _send(laptop_a, office, tmp_path / "s2" / "a.fcb")
    at_office = _person(office)
    assert (at_office.name, at_office.available, at_office.unavailable_reason) == ("周文彬", False, "病假")
    _send(office, laptop_a, tmp_path / "s3" / "o.fcb", everything=True)
    on_laptop = _person(laptop_a)
    assert (on_laptop.name, on_laptop.available, on_laptop.unavailable_reason) == ("周文彬", False, "病假")
    laptop_a.clock = lambda: T1 + timedelta(hours=3)
    with laptop_a.transaction(actor="张卫东") as s:
        update_inspector(s, _person(laptop_a).id, "周文斌", CERT, True)
    _send(laptop_a, office, tmp_path / "s4" / "a.fcb")
    at_office = _person(office)
    assert (at_office.name, at_office.available) == ("周文斌", False)


def test_the_office_makes_someone_available_again(laptop_a, office, tmp_path):
    """Back from 病假: the office's change back to 在岗 reaches the laptop as well."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    office.clock = lambda: T1
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, False, "病假")
    _send(office, laptop_a, tmp_path / "s2" / "o.fcb", everything=True)
    assert not _person(laptop_a).available
    office.clock = lambda: T1 + timedelta(days=7)
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, True)
    _send(office, laptop_a, tmp_path / "s3" / "o.fcb")
    assert (_person(laptop_a).available, _person(laptop_a).unavailable_reason) == (True, "")


def test_a_laptops_out_of_date_copy_does_not_undo_the_offices_later_change(laptop_a, office,
                                                                            tmp_path):
    """The office marks 周文斌 不在岗, A receives it; the office puts him back 在岗, A does not
    know yet and corrects his name. A's full bundle (relaying the office's own earlier
    event) is taken — the name — and he stays 在岗 at the office."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    office.clock = lambda: T1
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, False, "病假")
    _send(office, laptop_a, tmp_path / "s2" / "o.fcb", everything=True)
    office.clock = lambda: T1 + timedelta(days=1)
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, True)
    laptop_a.clock = lambda: T1 + timedelta(days=2)
    with laptop_a.transaction(actor="张卫东") as s:
        update_inspector(s, _person(laptop_a).id, "周文彬", CERT, True)
    _send(laptop_a, office, tmp_path / "s3" / "a.fcb", everything=True)
    at_office = _person(office)
    assert (at_office.name, at_office.available, at_office.unavailable_reason) == ("周文彬", True, "")


def test_an_older_office_bundle_read_late_does_not_undo_the_offices_later_change(
        laptop_a, office, tmp_path):
    """The office marks 周文斌 不在岗 (stick 1, not taken to A yet), then 在岗 again (stick 2).
    A imports stick 2, then stick 1 found late in a drawer: he stays 在岗 on A — only the
    office's latest change of the field counts, not whichever of its bundles came last."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    office.clock = lambda: T1
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, False, "病假")
    (tmp_path / "old").mkdir()
    export_bundle(office, tmp_path / "old" / "o.fcb", everything=True)
    office.clock = lambda: T1 + timedelta(days=7)
    with office.transaction(actor="办公室") as s:
        set_availability(s, _person(office).id, True)
    _send(office, laptop_a, tmp_path / "new" / "o.fcb", everything=True)
    assert _person(laptop_a).available
    import_bundle(laptop_a, tmp_path / "old" / "o.fcb")
    assert (_person(laptop_a).available, _person(laptop_a).unavailable_reason) == (True, "")
