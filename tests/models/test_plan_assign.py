"""重点检查 tasks get a team from the office: ≥ 2 distinct inspectors, 回避 and 不在岗 refused by
the draw's own rule, recorded in the audit chain; drawn tasks keep the draw's team."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from models.audit import AuditEvent
from models.errors import ValidationError
from models.inspection_rules import NewInspection, start_inspection
from models.plan_rules import (assign_team, create_plan, draw_round, focus_tasks, open_tasks,
                               team_candidates)
from models.planning import PlanTask
from tests.models.test_plan_rules import register  # noqa: F401  (29 firms, 6 inspectors)


@pytest.fixture
def focus(store, register):
    """A 2027 plan with firms[0] (whose 回避 is people[0]) and firms[1] (壶天镇, people[1]'s
    township 回避) as 重点检查; the plan's focus tasks by enterprise."""
    firms, people = register
    with store.transaction() as s:
        plan = create_plan(s, 2027, [firms[0], firms[1]])
        tasks = {t["enterprise_id"]: t["task_id"] for t in focus_tasks(s, plan.id)}
    return plan.id, {f: uuid.UUID(tasks[str(f)]) for f in firms[:2]}


def _assign(store, task_id, people, actor="办公室"):
    with store.transaction(actor=actor, label="plan_assign") as s:
        return json.loads(assign_team(s, task_id, people).inspector_ids)


def test_a_focus_task_is_assigned_two_inspectors_and_the_audit_keeps_before_and_after(store, register, focus):
    firms, people = register
    _plan, tasks = focus
    task_id = tasks[firms[0]]
    assert _assign(store, task_id, [people[2], people[3]]) == [str(people[2]), str(people[3])]
    with store.engine.connect() as con:  # a second connection, on either backend
        team = con.execute(select(PlanTask.inspector_ids).where(PlanTask.id == task_id)).scalar()
        events = con.execute(select(AuditEvent.actor, AuditEvent.label, AuditEvent.before,
                                    AuditEvent.after)
                             .where(AuditEvent.entity_type == "plan_task",
                                    AuditEvent.action == "update")).all()
    assert json.loads(team) == [str(people[2]), str(people[3])]
    [(actor, label, before, after)] = events
    assert (actor, label) == ("办公室", "plan_assign")
    assert json.loads(json.loads(before)["inspector_ids"]) == []
    assert json.loads(json.loads(after)["inspector_ids"]) == [str(people[2]), str(people[3])]
    with store.session() as s:
        mine = open_tasks(s, store.clock().date(), {people[2]})
    assert [t.enterprise_id for t in mine] == [firms[0]]


def test_fewer_than_two_distinct_inspectors_are_refused(store, register, focus):
    firms, people = register
    task_id = focus[1][firms[0]]
    for team in ([people[2]], [people[2], people[2]], []):
        with pytest.raises(ValidationError) as caught, store.transaction() as s:
            assign_team(s, task_id, team)
        assert "至少 2 名不同的执法人员" in " ".join(caught.value.problems)
    with store.session() as s:
        assert s.get(PlanTask, task_id).inspector_ids == "[]"


@pytest.mark.parametrize("who, firm, words", [(0, 0, "回避（本企业）：近亲属任职"),
                                              (1, 1, "回避（壶天镇）：曾挂职"),
                                              (5, 0, "不在岗")])
def test_avoidance_and_absence_are_refused_by_the_draws_rule(store, register, focus, who, firm, words):
    """The inspector under 回避 for the firm or its township, or away, cannot be assigned;
    the candidates list says the same reason next to their name."""
    firms, people = register
    task_id = focus[1][firms[firm]]
    with pytest.raises(ValidationError) as caught, store.transaction() as s:
        assign_team(s, task_id, [people[who], people[3]])
    assert any(words in p and f"执法员{who}" in p for p in caught.value.problems)
    with store.session() as s:
        bars = {c.id: c.bar for c in team_candidates(s, task_id)}
        assert s.get(PlanTask, task_id).inspector_ids == "[]"
    assert words in bars[people[who]] and bars[people[3]] is None


def test_drawn_and_started_tasks_cannot_be_reassigned(store, register, focus):
    firms, people = register
    plan_id, tasks = focus
    with store.transaction() as s:
        draw_round(s, plan_id, "7")
        drawn = s.scalars(select(PlanTask).where(PlanTask.kind == "draw")).first()
    with pytest.raises(ValidationError, match="由抽取确定"), store.transaction() as s:
        assign_team(s, drawn.id, [people[2], people[3]])
    task_id = tasks[firms[0]]
    _assign(store, task_id, [people[2], people[3]])
    with store.transaction() as s:
        start_inspection(s, NewInspection(firms[0], [people[2], people[3]], "车间",
                                          store.clock(), task_id=task_id))
    with pytest.raises(ValidationError, match="已开始检查"), store.transaction() as s:
        assign_team(s, task_id, [people[3], people[4]])
