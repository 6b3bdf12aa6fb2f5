"""Attacks on the office's authority over planning (双随机一公开): an enrolled laptop (stolen,
or a clerk with the sqlite3 command line or a FieldCheck whose office check was taken out)
tries to decide at the office who is drawn and how, through FieldCheck's own functions and a
normal bundle. (An untampered laptop's functions refuse these: tests/models/test_office_only.)

Plans, draws and tasks are `office_writes_only` (sync.authority); the rules a plan is made
with and the 回避 list a draw honours decide those plans and draws just as much.
"""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

from sqlalchemy import select, update

from models.plan_people import add_avoidance
from models.plan_rules import ClassRule, PlanRules, create_plan, draw_round, load_rules
from models.planning import InspectorAvoidance, PlanTask
from models.registry import Enterprise, Inspector
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.conftest import office_check_taken_out
from tests.sync.conftest import kept_out, refused


def _exchange(source, target, path, **kw):
    path.parent.mkdir(exist_ok=True)
    export_bundle(source, path, **kw)
    return import_bundle(target, path)


def test_a_laptops_plan_rules_do_not_become_the_offices(laptop_a, office, tmp_path):
    """The office plans with the default rules (it never saved its own). Laptop A saves
    rules under which no 蓝 enterprise is ever drawn and 红 only once a year (its FieldCheck
    tampered with); after A's bundle, the office's next plan must still be made with the
    office's rules."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office.session() as s:
        office_rules = load_rules(s).to_json()
    with office_check_taken_out(), laptop_a.transaction(actor="张卫东") as s:
        from models.plan_rules import save_rules
        rules = PlanRules()
        rules.classes = {**rules.classes, "blue": ClassRule(1, 0.0, 1), "red": ClassRule(1, 1.0, 1)}
        save_rules(s, rules)
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb")
    kept_out(office, tmp_path / "s2" / "a.fcb",
              lambda s: load_rules(s).to_json() != office_rules)


def test_a_laptops_avoidance_entries_do_not_steer_the_offices_draw(laptop_a, office, tmp_path):
    """Laptop A registers 回避 for every inspector but its own team at one enterprise (a firm
    its team wants to keep visiting; its FieldCheck tampered with); the office's 回避 list
    must not take them."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office_check_taken_out(), laptop_a.transaction(actor="张卫东") as s:
        firm = s.scalars(select(Enterprise.id).order_by(Enterprise.name)).first()
        people = s.scalars(select(Inspector.id).order_by(Inspector.certificate_no)).all()
        for person in people[2:] or people[:1]:
            add_avoidance(s, person, enterprise_id=firm, reason="亲属关系")
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb")
    kept_out(office, tmp_path / "s2" / "a.fcb",
              lambda s: s.scalar(select(InspectorAvoidance.id)) is not None)


def test_a_laptop_cannot_put_itself_on_an_office_task(laptop_a, office, tmp_path):
    """Defence that holds: A received a drawn task; with SQL on its own store it swaps the
    task's team for two inspectors of its choice (keeping the office as the row's creator).
    The office refuses the bundle: only the office's own events change its tasks."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office.transaction(actor="办公室") as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, "20261120")
    _exchange(office, laptop_a, tmp_path / "s2" / "o.fcb")
    with laptop_a.session() as s:
        task = s.scalars(select(PlanTask).order_by(PlanTask.id)).first()
        team = json.loads(task.inspector_ids)
        others = [str(i) for i in s.scalars(select(Inspector.id).order_by(Inspector.name))
                  if str(i) not in team][:2]
        task_id, later = task.id, task.updated_at + timedelta(days=1)
    assert len(others) == 2
    with laptop_a.engine.begin() as conn:  # newer than the office's, so that it would win
        conn.execute(update(PlanTask.__table__).where(PlanTask.__table__.c.id == task_id)
                     .values(inspector_ids=json.dumps(others), updated_at=later))
    (tmp_path / "s3").mkdir()
    export_bundle(laptop_a, tmp_path / "s3" / "a.fcb", everything=True)
    text = refused(office, tmp_path / "s3" / "a.fcb")
    assert "无权修改" in text


def test_a_laptop_does_not_take_tasks_another_laptop_drew_itself(laptop_a, laptop_b, tmp_path):
    """B (stolen, enrolled, its FieldCheck tampered with) copies A's register, draws its own
    'plan' and hands A a stick: A must not list B's tasks as its 待检任务 (only the office
    plans and draws)."""
    from datetime import date
    from models.plan_rules import open_tasks
    _exchange(laptop_a, laptop_b, tmp_path / "s1" / "a.fcb")
    with office_check_taken_out(), laptop_b.transaction(actor="某人") as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, "7")
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_b, tmp_path / "s2" / "b.fcb", everything=True)
    with laptop_a.session() as s:
        before = [t.id for t in open_tasks(s, date(2026, 11, 25))]
    try:
        import_bundle(laptop_a, tmp_path / "s2" / "b.fcb")
    except BundleError as refusal:
        assert "导出包" in refusal.text()
    with laptop_a.session() as s:
        assert [t.id for t in open_tasks(s, date(2026, 11, 25))] == before


def test_a_laptop_cannot_pass_off_a_交办_as_the_offices(laptop_a, office, tmp_path):
    """Defence that holds: the laptop's clerk writes a 交办 row with SQL that names the
    office's own device as its creator (so that office_writes_only lets it by); the office
    refuses it — no create event of the office's signed chain stands behind it."""
    from datetime import date, datetime, timezone
    from sqlalchemy import insert
    from models.assignment import HazardAssignment
    from models.inspection import Hazard
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with laptop_a.session() as s:
        major = s.scalars(select(Hazard.id).where(Hazard.is_major.is_(True)).order_by(Hazard.id)).first()
    now = datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
    with laptop_a.engine.begin() as conn:
        conn.execute(insert(HazardAssignment.__table__).values(
            id=uuid.uuid4(), device_id=office.device_id, created_at=now, updated_at=now,
            hazard_id=major, assignee="某乡镇", deadline=date(2027, 6, 30), note="",
            assigned_at=now, assigned_by="办公室", replaces_id=None))
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb", everything=True)
    text = refused(office, tmp_path / "s2" / "a.fcb")
    assert "疑似伪造" in text


def test_a_laptop_cannot_take_inspectors_out_of_the_offices_draw(laptop_a, office, tmp_path):
    """Laptop A marks every inspector but its own team 不在岗 (set_availability, the 设置
    screen's rule, its office check taken out); after A's bundle the office's 名录库 must
    still have them drawable."""
    from models.plan_people import set_availability
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office_check_taken_out(), laptop_a.transaction(actor="张卫东") as s:
        people = s.scalars(select(Inspector.id).order_by(Inspector.certificate_no)).all()
        for person in people[2:] or people[:1]:
            set_availability(s, person, False, "借调")
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb")
    kept_out(office, tmp_path / "s2" / "a.fcb",
              lambda s: s.scalar(select(Inspector.id).where(Inspector.available.is_(False))) is not None)


def _major_hazard(store):
    from models.inspection import Hazard, Inspection, InspectionStatus
    with store.session() as s:
        return s.scalars(select(Hazard.id).join(Inspection, Hazard.inspection_id == Inspection.id)
                         .where(Hazard.is_major.is_(True),
                                Inspection.status == InspectionStatus.FINALIZED)
                         .order_by(Hazard.id)).first()


def _record_tracking(store, hazard_id) -> None:
    from datetime import date
    from models.reinspection_rules import set_major_tracking
    with office_check_taken_out(), store.transaction(actor="张卫东", label="一单四制") as s:
        set_major_tracking(s, hazard_id, ledger_no="ZD-2026-伪", reported_on=date(2026, 11, 21))


def test_a_laptop_cannot_record_the_offices_台账_and_通报(laptop_a, office, tmp_path):
    """台账 and 通报 of a major hazard are the office's steps of 一单四制 (#14). Laptop A, whose
    own finalized inspection found the hazard, records a 台账编号 and a 通报 date through
    FieldCheck's own function (its ledger screen does not offer it, the function refuses it
    until the office check is taken out): the office refuses the bundle in one line, its
    store byte for byte as it was."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    major = _major_hazard(laptop_a)
    _record_tracking(laptop_a, major)
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb")
    text = refused(office, tmp_path / "s2" / "a.fcb")
    assert "只能由办公室登记" in text and "\n" not in text


def test_a_laptop_cannot_bring_a_new_hazard_already_ledgered(laptop_a, office, tmp_path):
    """The same before the office ever saw the hazard: it arrives new, 台账编号 set by A."""
    _record_tracking(laptop_a, _major_hazard(laptop_a))
    (tmp_path / "s1").mkdir()
    export_bundle(laptop_a, tmp_path / "s1" / "a.fcb")
    assert "只能由办公室登记" in refused(office, tmp_path / "s1" / "a.fcb")


def test_a_laptops_unsigned_edit_of_availability_is_not_taken(laptop_a, office, tmp_path):
    """With the sqlite3 command line A marks an inspector 不在岗 (no audit event, the row
    newer than the office's): the office takes none of it — he stays drawable there."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with laptop_a.session() as s:
        person = s.scalars(select(Inspector).order_by(Inspector.certificate_no)).all()[-1]
        person_id, later = person.id, person.updated_at + timedelta(days=30)
    with laptop_a.engine.begin() as conn:
        conn.execute(update(Inspector.__table__).where(Inspector.__table__.c.id == person_id)
                     .values(available=False, unavailable_reason="借调", updated_at=later))
    (tmp_path / "s2").mkdir()
    export_bundle(laptop_a, tmp_path / "s2" / "a.fcb", everything=True)
    kept_out(office, tmp_path / "s2" / "a.fcb",
             lambda s: s.get(Inspector, person_id).available is False)
