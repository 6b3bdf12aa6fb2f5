"""待检任务 travel office → laptop in the office's bundle; the result closes them at the office."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timezone

from sqlalchemy import select

from models.inspection import AnswerResult
from models.inspection_rules import (NewInspection, answer_item, finalize_inspection,
                                     inspection_items, start_inspection)
from models.plan_rules import create_plan, draw_round, open_tasks, plan_progress, verify_plan
from models.planning import PlanTask
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.test_agency_documents import issued  # noqa: F401  (a laptop with an enrolled inspector)

TODAY = date(2026, 11, 25)


def _exchange(source, target, path, **kw):
    path.parent.mkdir(exist_ok=True)
    export_bundle(source, path, **kw)
    return import_bundle(target, path)


def _carry_out(laptop, task):
    """The laptop team starts the inspection from the task, answers everything, finalizes."""
    when = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
    with laptop.transaction(actor="张卫东") as s:
        inspection = start_inspection(s, NewInspection(task.enterprise_id, task.inspector_ids,
                                                       "生产车间", when, task_id=task.id))
        items = inspection_items(s, inspection.id)
    for item in items:
        with laptop.transaction(actor="张卫东") as s:
            answer_item(s, inspection.id, item.id, AnswerResult.COMPLIANT, "")
    with laptop.transaction(actor="张卫东") as s:
        finalize_inspection(s, inspection.id)
    return inspection.id


def test_tasks_round_trip_office_laptop_office(laptop_a, office, tmp_path):
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office.transaction(actor="办公室") as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, "20261120")
        plan_id = plan.id
    report = _exchange(office, laptop_a, tmp_path / "s2" / "office.fcb")
    assert report.total("conflict") == 0
    with laptop_a.session() as s:
        tasks = open_tasks(s, TODAY)
        assert tasks and all(len(t.team) == 2 for t in tasks)
        assert verify_plan(s, plan_id) == []  # the laptop can check the draw too
    _carry_out(laptop_a, tasks[0])
    report = _exchange(laptop_a, office, tmp_path / "s3" / "a2.fcb")
    assert report.total("conflict") == 0
    with office.session() as s:
        progress = plan_progress(s, plan_id, TODAY)
        assert progress["total"]["done"] == 1
        assert tasks[0].id not in {t.id for t in open_tasks(s, TODAY)}
        assert verify_plan(s, plan_id) == []


def test_a_laptop_never_brings_back_a_task_the_office_redrew(laptop_a, office, tmp_path):
    """The office redraws after the laptop got the tasks; the laptop's next bundle, relaying the
    old task rows, leaves them cancelled at the office."""
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office.transaction(actor="办公室") as s:
        plan = create_plan(s, 2026, [])
        first = draw_round(s, plan.id, "1").id
    _exchange(office, laptop_a, tmp_path / "s2" / "office.fcb")
    with laptop_a.session() as s:
        task = open_tasks(s, TODAY)[0]
    with office.transaction(actor="办公室") as s:
        draw_round(s, plan.id, "2", redraw_of=first, reason="抽中企业已关停")
    _carry_out(laptop_a, task)
    _exchange(laptop_a, office, tmp_path / "s3" / "a2.fcb")
    with office.session() as s:
        old = s.scalars(select(PlanTask).where(PlanTask.draw_id == first)).all()
        assert old and all(t.cancelled for t in old)
        assert verify_plan(s, plan.id) == []


def test_an_assigned_focus_team_travels_to_the_laptop_and_a_relay_keeps_the_new_one(
        laptop_a, office, tmp_path):
    """The office assigns a 重点检查 team; the laptop lists the task with that team after the
    import; the office reassigns, and the laptop's next bundle (relaying the old row) does not
    put the first team back."""
    from models.plan_rules import assign_team, focus_tasks, team_candidates
    from models.registry import Enterprise
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office.transaction(actor="办公室") as s:
        firm = s.scalars(select(Enterprise).order_by(Enterprise.name)).first()
        plan = create_plan(s, 2026, [firm.id])
        [focus] = focus_tasks(s, plan.id)
        people = [c.id for c in team_candidates(s, uuid.UUID(focus["task_id"])) if c.bar is None]
        assign_team(s, uuid.UUID(focus["task_id"]), people[:2])
    _exchange(office, laptop_a, tmp_path / "s2" / "office.fcb")
    with laptop_a.session() as s:
        [task] = [t for t in open_tasks(s, TODAY) if t.kind == "focus"]
    assert task.inspector_ids == people[:2] and len(task.team) == 2
    with office.transaction(actor="办公室") as s:
        assign_team(s, task.id, people[1:3])
    report = _exchange(laptop_a, office, tmp_path / "s3" / "a2.fcb")
    assert report.total("conflict") == 0
    with office.session() as s:
        assert json.loads(s.get(PlanTask, task.id).inspector_ids) == [str(p) for p in people[1:3]]
    _exchange(office, laptop_a, tmp_path / "s4" / "office2.fcb")
    with laptop_a.session() as s:
        [again] = [t for t in open_tasks(s, TODAY) if t.kind == "focus"]
    assert again.inspector_ids == people[1:3]


def test_a_laptops_own_inspectors_come_from_its_keys_and_its_enrollment(issued, laptop_b):
    """张卫东 made his key on this laptop and the office enrolled him: he is its inspector;
    with the key file gone, the installed enrollment still names him; a laptop enrolled with
    nobody has no inspectors of its own."""
    from documents.keys import key_path
    from sync.agency import own_inspector_ids
    laptop, inspector = issued
    assert own_inspector_ids(laptop.data_dir) == {inspector}
    key_path(laptop.data_dir, inspector).unlink()
    assert own_inspector_ids(laptop.data_dir) == {inspector}
    assert own_inspector_ids(laptop_b.data_dir) == set()


def test_a_plan_a_laptop_made_itself_is_refused_at_the_office(laptop_a, office, tmp_path):
    """Plans, draws and tasks are the office's: a laptop (stolen, its FieldCheck's office
    check taken out) that drew its own plan cannot bring it into the office's register of
    plans (was: its rows were taken as the laptop's own new records)."""
    import pytest
    from sync.bundle_format import BundleError
    from tests.conftest import office_check_taken_out
    from tests.sync.conftest import dump
    _exchange(laptop_a, office, tmp_path / "s1" / "a.fcb")
    with office_check_taken_out(), laptop_a.transaction(actor="张卫东") as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, "7")
    export_bundle(laptop_a, tmp_path / "forged.fcb", everything=True)
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, tmp_path / "forged.fcb")
    assert "只能由办公室作出" in caught.value.text() and "年度检查计划" in caught.value.text()
    assert dump(office) == before
