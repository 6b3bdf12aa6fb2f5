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


def _superseded(store, person_id) -> list[dict]:
    """The versions of the person's row this store recorded as not taken (较旧版本)."""
    import json
    from models.audit import AuditEvent
    with store.session() as s:
        return [json.loads(after) for after in s.scalars(select(AuditEvent.after).where(
            AuditEvent.action == "superseded", AuditEvent.entity_id == str(person_id)))]


def _edit_availability_with_sql(store, person_id, **also) -> None:
    from sqlalchemy import update
    with store.engine.begin() as conn:
        conn.execute(update(Inspector.__table__).where(Inspector.__table__.c.id == person_id)
                     .values(available=False, unavailable_reason="借调", **also))


def test_a_dropped_office_field_is_recorded_once_and_the_same_bundle_again_changes_nothing(
        laptop_a, office, tmp_path):
    """Laptop A corrects 周文斌's name (its own signed change) and, with the sqlite3 command
    line, marks him 不在岗. The office takes the name, keeps him 在岗, and records A's version
    as not taken (较旧版本, in its audit trail) at that first import — the clerk sees that
    A's value was not taken; the same bundle again reports nothing new and records nothing."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    person_id = _person(laptop_a).id
    with laptop_a.transaction(actor="张卫东") as s:
        update_inspector(s, person_id, "周文彬", CERT, True)
    _edit_availability_with_sql(laptop_a, person_id)
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb")
    first = import_bundle(office, tmp_path / "s2" / "a.fcb")
    at_office = _person(office)
    assert (at_office.name, at_office.available, at_office.unavailable_reason) == ("周文彬", True, "")
    assert first.counts.get("superseded") == {"inspector": 1} and not first.changed_nothing
    assert "较旧版本 1 条（已记入执法记录）" in first.lines()[0]
    assert [(v["available"], v["unavailable_reason"]) for v in _superseded(office, person_id)] == [
        (False, "借调")]
    again = import_bundle(office, tmp_path / "s2" / "a.fcb")
    assert again.changed_nothing, again.lines()
    assert again.counts.get("superseded") == {"inspector": 1} and again.recorded_before == 1
    assert len(_superseded(office, person_id)) == 1
    assert (_person(office).name, _person(office).available) == ("周文彬", True)


def test_an_unsigned_office_field_alone_is_recorded_as_not_taken_once(laptop_a, office, tmp_path):
    """Only the sqlite3 command line's 不在岗 differs, the row made newer than the office's:
    nothing of it is taken, and the office records A's version as not taken once."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    person = _person(laptop_a)
    _edit_availability_with_sql(laptop_a, person.id, updated_at=person.updated_at + timedelta(days=30))
    person_id = person.id
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb", everything=True)
    first = import_bundle(office, tmp_path / "s2" / "a.fcb")
    assert first.counts.get("superseded") == {"inspector": 1}
    assert len(_superseded(office, person_id)) == 1
    again = import_bundle(office, tmp_path / "s2" / "a.fcb")
    assert again.changed_nothing and len(_superseded(office, person_id)) == 1
    assert _person(office).available


def _audit_selects_of_import(store, path) -> int:
    """How many SELECTs of the audit trail one import of `path` makes."""
    from sqlalchemy import event
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "audit_event" in statement:
            seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        import_bundle(store, path)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return len(seen)


def test_the_audit_trail_is_read_as_often_for_one_guarded_row_as_for_many(laptop_a, office,
                                                                          tmp_path):
    """An import reads this store's audit trail for the office fields of all its rows at
    once: one inspector's unsigned 不在岗 costs as many queries of the audit trail as every
    inspector's (a query per differing row before)."""
    _send(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with laptop_a.session() as s:
        people = [(p.id, p.updated_at) for p in s.scalars(select(Inspector).order_by(Inspector.id))]
    assert len(people) >= 5
    later = max(at for _id, at in people) + timedelta(days=30)
    _edit_availability_with_sql(laptop_a, people[0][0], updated_at=later)
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb", everything=True)
    one = _audit_selects_of_import(office, tmp_path / "s2" / "a.fcb")
    for person_id, _at in people[1:]:
        _edit_availability_with_sql(laptop_a, person_id, updated_at=later)
    (tmp_path / "s3").mkdir()
    export_bundle(laptop_a, tmp_path / "s3" / "a.fcb", everything=True)
    every = _audit_selects_of_import(office, tmp_path / "s3" / "a.fcb")
    assert every == one
    with office.session() as s:
        assert s.scalar(select(Inspector.id).where(Inspector.available.is_(False))) is None
