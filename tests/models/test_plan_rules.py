"""计划执法: the plan from rules, the seeded 双随机 draw, its replay, 回避, fairness, redraws."""
from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from sqlalchemy import select

from models.draw import run_draw
from models.errors import FieldCheckError, ValidationError
from models.plan_rules import (PlanRules, create_plan, draw_inputs, draw_round, plan_progress,
                               save_rules, verify_plan)
from models.planning import InspectionPlan, InspectorAvoidance, PlanDraw, PlanTask
from models.registry import Enterprise, Inspector, RiskColour
from tests.conftest import make_enterprise, make_office, valid_credit_code

COLOURS = [RiskColour.RED] * 3 + [RiskColour.ORANGE] * 6 + [RiskColour.YELLOW] * 10 + \
    [RiskColour.BLUE] * 10
TOWNS = ["月山镇", "壶天镇", "泉塘镇"]


@pytest.fixture
def register(store):
    """At the office (it alone plans and draws): 29 enterprises of the four classes in three
    townships, six inspectors, one away."""
    make_office(store)
    firms = [make_enterprise(store, name=f"测试企业{n:02d}有限公司",
                             credit_code=valid_credit_code(f"91430381MA4T{n:05d}"),
                             risk_colour=colour, risk_reason="测试：按给定等级", township=TOWNS[n % 3])
             for n, colour in enumerate(COLOURS)]
    with store.transaction() as s:
        people = [Inspector(name=f"执法员{n}", certificate_no=f"4303812100{n}") for n in range(6)]
        people[5].available = False
        s.add_all(people)
        s.flush()
        s.add(InspectorAvoidance(inspector_id=people[0].id, enterprise_id=firms[0],
                                 reason="近亲属任职"))
        s.add(InspectorAvoidance(inspector_id=people[1].id, township="壶天镇", reason="曾挂职"))
        return firms, [p.id for p in people]


def _plan(store, year=2027, focus=()):
    with store.transaction() as s:
        return create_plan(s, year, list(focus)).id


def _draw(store, plan_id, seed, **kw):
    with store.transaction() as s:
        d = draw_round(s, plan_id, seed, **kw)
        return d.id, json.loads(d.result_json)


def test_plan_counts_follow_the_rules_per_class(store, register):
    """红 twice each, 橙 once each, 黄 30 %, 蓝 10 % rounded up; months sum to the plan."""
    with store.transaction() as s:
        plan = create_plan(s, 2027, [])
        quotas = json.loads(plan.quotas_json)
        months = json.loads(plan.summary_json)
    totals = Counter()
    for by_class in quotas.values():
        totals.update(by_class)
    assert dict(totals) == {"red": 6, "orange": 6, "yellow": 3, "blue": 1}
    assert sum(m["inspections"] for m in months) == 16
    assert all(m["teams"] == -(-m["inspections"] // 8) for m in months)


def test_rules_are_data_and_refuse_nonsense(store, register):
    """Changed rules give another plan; a share over 100 % is refused with the reason."""
    rules = PlanRules()
    rules.classes["blue"].share = 0.5
    with store.transaction() as s:
        save_rules(s, rules)
        plan = create_plan(s, 2028, [])
    assert sum(q["blue"] for q in json.loads(plan.quotas_json).values()) == 5
    rules.classes["yellow"].share = 1.5
    with pytest.raises(ValidationError, match="抽取比例"), store.transaction() as s:
        save_rules(s, rules)


def test_too_many_focus_enterprises_break_the_70_percent_rule(store, register):
    firms, _ = register
    with pytest.raises(ValidationError, match="低于规定的 70%"):
        _plan(store, focus=firms[:8])
    plan_id = _plan(store, focus=firms[:2])
    with store.session() as s:
        focus = s.scalars(select(PlanTask).where(PlanTask.plan_id == plan_id)).all()
    assert {t.kind for t in focus} == {"focus"} and len(focus) == 2


def test_the_draw_replays_identically_and_verify_says_so(store, register):
    plan_id = _plan(store)
    _draw(store, plan_id, "20270105-公开摇号")
    _draw(store, plan_id, "9981")
    with store.session() as s:
        assert verify_plan(s, plan_id) == []


def test_the_draw_depends_on_the_seed_and_lists_only(store, register):
    """Same seed and lists in another order: the same result; another seed: another result."""
    plan_id = _plan(store)
    with store.session() as s:
        plan = s.get(InspectionPlan, plan_id)
        inputs = draw_inputs(s, plan, 1, "42")
    shuffled = json.loads(json.dumps(inputs))
    random.Random(7).shuffle(shuffled["enterprises"])
    random.Random(8).shuffle(shuffled["inspectors"])
    assert run_draw(shuffled) == run_draw(inputs)
    assert run_draw(dict(inputs, seed="43"))[0] != run_draw(inputs)[0]


def test_avoidance_and_availability_are_never_violated(store, register):
    """Over 150 seeds no task pairs an inspector with an enterprise or township they avoid."""
    firms, people = register
    plan_id = _plan(store)
    with store.session() as s:
        plan = s.get(InspectionPlan, plan_id)
        base = draw_inputs(s, plan, 1, "0")
        township = {str(e.id): e.township for e in s.scalars(select(Enterprise))}
    for n in range(150):
        tasks, _ = run_draw(dict(base, seed=f"seed-{n}"))
        assert tasks
        for t in tasks:
            assert len(set(t["inspector_ids"])) == 2
            assert str(people[5]) not in t["inspector_ids"]
            if t["enterprise_id"] == str(firms[0]):
                assert str(people[0]) not in t["inspector_ids"]
            if township[t["enterprise_id"]] == "壶天镇":
                assert str(people[1]) not in t["inspector_ids"]


def test_class_shares_are_fair_over_many_seeds(store, register):
    """Each yellow enterprise is drawn about equally often over a fixed list of 400 seeds."""
    plan_id = _plan(store)
    with store.session() as s:
        plan = s.get(InspectionPlan, plan_id)
        base = draw_inputs(s, plan, 1, "0")
    yellow = {e["id"] for e in base["enterprises"] if e["risk"] == "yellow"}
    base["quotas"] = {"red": 0, "orange": 0, "yellow": 4, "blue": 0}
    counts = Counter()
    for n in range(400):
        counts.update(t["enterprise_id"] for t in run_draw(dict(base, seed=str(n)))[0])
    assert set(counts) == yellow
    expected = 400 * 4 / len(yellow)  # 160; binomial sd ≈ 9.8
    assert all(abs(c - expected) < 40 for c in counts.values()), counts


def test_the_same_pair_is_not_drawn_again_for_an_enterprise(store, register):
    """With the previous team recorded, the next draw for that enterprise picks another pair."""
    plan_id = _plan(store)
    with store.session() as s:
        plan = s.get(InspectionPlan, plan_id)
        base = draw_inputs(s, plan, 1, "0")
    for n in range(60):
        inputs = dict(base, seed=f"p{n}")
        first, _ = run_draw(inputs)
        previous = {t["enterprise_id"]: sorted(t["inspector_ids"]) for t in first}
        again, _ = run_draw(dict(inputs, previous_teams=previous))
        for t in again:
            assert sorted(t["inspector_ids"]) != previous.get(t["enterprise_id"])


def test_a_round_is_never_drawn_twice_and_a_redraw_keeps_the_old_one(store, register):
    plan_id = _plan(store)
    first_id, first = _draw(store, plan_id, "1", rnd=1)
    with pytest.raises(ValidationError, match="已经抽取"):
        _draw(store, plan_id, "2", rnd=1)
    with pytest.raises(ValidationError, match="理由"):
        _draw(store, plan_id, "2", redraw_of=first_id)
    second_id, _ = _draw(store, plan_id, "2", redraw_of=first_id, reason="抽中企业已停产")
    with store.session() as s:
        old = s.scalars(select(PlanTask).where(PlanTask.draw_id == first_id)).all()
        new = s.get(PlanDraw, second_id)
        assert len(old) == len(first) and all(t.cancelled for t in old)
        assert new.replaces_id == first_id and new.round == 1 and new.reason == "抽中企业已停产"
        assert verify_plan(s, plan_id) == []


def test_an_enterprise_is_not_planned_past_its_cap(store, register):
    """Yellow enterprises (cap 1) drawn in round 1 are not drawn again in the later rounds."""
    plan_id = _plan(store)
    seen = Counter()
    for n in range(4):
        _, tasks = _draw(store, plan_id, f"r{n}")
        seen.update(t["enterprise_id"] for t in tasks if t["risk"] in ("yellow", "blue"))
    assert seen and max(seen.values()) == 1


def _tamper(store, statement):
    """A clerk with SQL: straight to the database, past the store's hooks and audit."""
    with store.engine.begin() as conn:
        conn.execute(statement)


@pytest.mark.parametrize("what", ["result", "task", "inputs", "task_deleted"])
def test_a_tampered_draw_is_caught_by_verify(store, register, what):
    """An edit of the recorded result, a task, the recorded lists, or a deleted task: found."""
    from sqlalchemy import delete, update
    from models.draw import canonical, digest
    firms, people = register
    plan_id = _plan(store)
    draw_id, tasks = _draw(store, plan_id, "77")
    draws, task_table = PlanDraw.__table__, PlanTask.__table__
    with store.session() as s:
        d = s.get(PlanDraw, draw_id)
        inputs = json.loads(d.inputs_json)
        one_task = min(t.id for t in s.scalars(select(PlanTask).where(PlanTask.draw_id == draw_id)))
    if what == "result":
        drawn = tasks[0]["inspector_ids"]
        other = next(str(p) for p in people[:5] if str(p) not in drawn)  # never the drawn team
        forged = json.dumps([dict(tasks[0], inspector_ids=[other, drawn[1]])] + tasks[1:])
        _tamper(store, update(draws).where(draws.c.id == draw_id).values(result_json=forged))
    elif what == "task":
        with store.session() as s:
            drawn = json.loads(s.get(PlanTask, one_task).inspector_ids)
        other = next(str(p) for p in people[:5] if str(p) not in drawn)  # never the drawn team
        _tamper(store, update(task_table).where(task_table.c.id == one_task)
                .values(inspector_ids=json.dumps([other, drawn[1]])))
    elif what == "inputs":
        inputs["avoidances"] = []
        _tamper(store, update(draws).where(draws.c.id == draw_id)
                .values(inputs_json=canonical(inputs), inputs_hash=digest(inputs)))
    else:
        _tamper(store, delete(task_table).where(task_table.c.id == one_task))
    with store.session() as s:
        problems = verify_plan(s, plan_id)
    assert problems, what
    assert all("第 1 轮抽取" in p for p in problems)


def test_progress_counts_done_due_and_overdue(store, register):
    from datetime import date
    plan_id = _plan(store)
    _draw(store, plan_id, "5")
    with store.session() as s:
        early = plan_progress(s, plan_id, date(2027, 2, 1))
        late = plan_progress(s, plan_id, date(2027, 4, 2))
    n = early["total"]["due"]
    assert n > 0 and early["total"]["overdue"] == 0
    assert late["total"]["overdue"] == n and late["total"]["due"] == 0
    assert sum(v["due"] for v in early["by_class"].values()) == n


def test_an_empty_seed_is_refused(store, register):
    plan_id = _plan(store)
    with pytest.raises(FieldCheckError, match="种子"):
        _draw(store, plan_id, "  ")


def test_an_inspection_started_from_a_task_closes_it(store, register, clock):
    """The task leaves the open list once an inspection is started from it, and counts done."""
    from datetime import date
    from models.inspection_rules import NewInspection, start_inspection
    from models.plan_rules import open_tasks
    plan_id = _plan(store, year=2026)
    _draw(store, plan_id, "t")
    with store.session() as s:
        tasks = open_tasks(s, date(2026, 11, 2))
    task = tasks[0]
    assert all(t.team and len(t.inspector_ids) == 2 for t in tasks)
    with store.session() as s:
        mine = open_tasks(s, date(2026, 11, 2), {task.inspector_ids[0]})
    assert task in mine and all(task.inspector_ids[0] in t.inspector_ids for t in mine)
    with pytest.raises(ValidationError, match="不一致"), store.transaction() as s:
        start_inspection(s, NewInspection(register[0][-1] if register[0][-1] != task.enterprise_id
                                          else register[0][0], task.inspector_ids, "车间",
                                          clock(), task_id=task.id))
    with store.transaction() as s:
        start_inspection(s, NewInspection(task.enterprise_id, task.inspector_ids,
                                                       "车间", clock(), task_id=task.id))
    with store.session() as s:
        assert task.id not in {t.id for t in open_tasks(s, date(2026, 11, 2))}


def test_an_inspection_from_before_the_task_does_not_carry_it_out(store, register, clock):
    """An inspection of the drawn firm started before the task existed does not count for it;
    the firm's next inspection after the draw does (no task chosen on the laptop)."""
    from datetime import date, timedelta
    from models.inspection_rules import NewInspection, start_inspection
    from tests.models.test_register_queries import _finalize_with
    _firms, people = register
    plan_id = _plan(store, year=2026)
    _draw(store, plan_id, "t")
    with store.session() as s:
        task = s.scalars(select(PlanTask).where(PlanTask.plan_id == plan_id)).first()
    for days, done in ((-30, 0), (1, 1)):
        with store.transaction() as s:
            inspection = start_inspection(s, NewInspection(task.enterprise_id, people[2:4], "车间",
                                                           clock() + timedelta(days=days)))
        _finalize_with(store, inspection.id, set())
        with store.session() as s:
            assert plan_progress(s, plan_id, date(2026, 11, 3))["total"]["done"] == done
