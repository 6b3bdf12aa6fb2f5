"""What only the office records is refused on a laptop by the domain function itself, not
only by the screen that hides its button or the office's import that would drop it: 在岗 and
回避 (名录库), 台账编号 and 通报日期 of a major hazard, the plan rules, plans, draws and the
teams of 重点检查 tasks. Each call on a laptop raises one Chinese ValidationError that says
where it is done, and a second connection reads the store exactly as it was. Both backends:
the laptop is always SQLite (a PostgreSQL store is the office)."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import create_engine, select

from models.errors import ValidationError
from models.plan_people import add_avoidance, remove_avoidance, set_availability
from models.plan_rules import PlanRules, assign_team, create_plan, draw_round, save_rules
from models.planning import InspectionPlan, InspectorAvoidance, PlanTask
from models.reinspection_rules import set_major_tracking
from models.store_mode import session_is_office
from models.tables import Base
from tests.conftest import make_enterprise, make_team, office_check_taken_out, valid_credit_code
from tests.models.test_ledger import MAJOR, ordered_case, set_region


@pytest.fixture
def laptop(tmp_path, clock, store_maker):
    s = store_maker.open(tmp_path / "laptop", server=False)
    s.clock = clock
    yield s
    s.close()


def read_back(store) -> dict:
    """Every table's rows, read by a connection of its own (not the store's pool)."""
    engine = create_engine(store.engine.url)
    try:
        with engine.connect() as con:
            return {t.name: sorted(json.dumps(dict(r), sort_keys=True, default=str)
                                   for r in con.execute(select(t)).mappings())
                    for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def refused_here(store, call, says: str) -> ValidationError:
    """`call(session)` in a transaction of `store`: refused with a line naming the office and
    what to do; the store as it was."""
    before = read_back(store)
    with pytest.raises(ValidationError) as caught, store.transaction(actor="张卫东") as s:
        assert not session_is_office(s)
        call(s)
    assert says in caught.value.message and "办公室" in caught.value.text()
    assert caught.value.hint and "\n" not in caught.value.text()
    assert read_back(store) == before
    return caught.value


@pytest.fixture
def received(laptop):
    """What a laptop holds of the office's (as an import leaves it): a 回避, the year's plan
    with one 重点检查 task, inspectors and enterprises of its own."""
    team = make_team(laptop)
    firm = make_enterprise(laptop)
    with office_check_taken_out(), laptop.transaction() as s:
        avoidance = InspectorAvoidance(inspector_id=team[0], enterprise_id=firm, township="",
                                       reason="近亲属在该企业任职")
        rules = PlanRules().to_json()
        plan = InspectionPlan(year=2027, rules_json=rules, focus_json=json.dumps([str(firm)]),
                              quotas_json=json.dumps({"1": {"red": 0, "orange": 0, "yellow": 0,
                                                            "blue": 1}}),
                              summary_json="[]")
        s.add_all([avoidance, plan])
        s.flush()
        task = PlanTask(plan_id=plan.id, enterprise_id=firm, inspector_ids="[]", kind="focus",
                        first_month=1, due_month=12)
        s.add(task)
        s.flush()
        return {"team": team, "firm": firm, "avoidance": avoidance.id, "plan": plan.id,
                "task": task.id}


def test_a_laptop_does_not_set_who_is_available(laptop, received):
    """不在岗 (and back to 在岗) is the office's 名录库: the draw there reads it."""
    person = received["team"][1]
    refused_here(laptop, lambda s: set_availability(s, person, False, "脱产培训"), "在岗")
    refused_here(laptop, lambda s: set_availability(s, person, True), "在岗")


def test_a_laptop_does_not_register_or_remove_avoidance(laptop, received):
    """回避 bars an inspector from the office's draws: registered and removed there only."""
    team, firm = received["team"], received["firm"]
    refused_here(laptop, lambda s: add_avoidance(s, team[1], enterprise_id=firm,
                                                 reason="曾为该企业提供咨询"), "回避")
    refused_here(laptop, lambda s: add_avoidance(s, team[1], township="月山镇",
                                                 reason="曾在该镇挂职"), "回避")
    refused_here(laptop, lambda s: remove_avoidance(s, received["avoidance"]), "回避")


def test_a_laptop_does_not_record_the_ledger_number_or_the_report(laptop, clock):
    """台账编号 and 通报日期 of a major hazard (一单四制) are the office's to record."""
    set_region(laptop)
    _insp, hazards = ordered_case(laptop, make_enterprise(laptop), make_team(laptop), clock)
    refused_here(laptop, lambda s: set_major_tracking(
        s, hazards[MAJOR], ledger_no="湘乡重隐〔2026〕1号", reported_on=date(2026, 11, 3)),
        "台账编号和通报日期")
    refused_here(laptop, lambda s: set_major_tracking(
        s, hazards[MAJOR], assigned_to="月山镇", ledger_no="", reported_on=None),
        "台账编号和通报日期")


def test_a_laptop_does_not_plan_draw_or_assign(laptop, received):
    """The plan rules, the plan, its draws and a 重点检查 task's team are made at the office."""
    refused_here(laptop, lambda s: save_rules(s, PlanRules(rounds=2)), "计划规则")
    refused_here(laptop, lambda s: create_plan(s, 2028, []), "执法计划")
    refused_here(laptop, lambda s: draw_round(s, received["plan"], "314159", rnd=1), "执法计划")
    refused_here(laptop, lambda s: assign_team(s, received["task"], received["team"]), "执法计划")


def test_a_laptop_refuses_office_records_written_past_the_domain_functions(laptop, received, clock):
    """Not only the domain functions: any write through the models on a laptop — a screen or
    script that calls no domain function — is refused at the flush when it touches what only
    the office records. Otherwise the laptop would sign it, and the office would then refuse
    the laptop's whole next bundle (sync.authority): its sync stopped for one stray write."""
    from models.assignment import HazardAssignment
    from models.inspection import Hazard
    from models.registry import Inspector
    person, firm = received["team"][1], received["firm"]
    refused_here(laptop, lambda s: setattr(s.get(Inspector, person), "available", False), "在岗情况")
    refused_here(laptop, lambda s: setattr(s.get(Inspector, person), "unavailable_reason", "借调"),
                 "办公室")
    refused_here(laptop, lambda s: s.add(InspectorAvoidance(
        inspector_id=person, enterprise_id=firm, township="", reason="曾为该企业提供咨询")), "回避")
    refused_here(laptop, lambda s: s.delete(s.get(InspectorAvoidance, received["avoidance"])), "回避")
    refused_here(laptop, lambda s: setattr(s.get(InspectionPlan, received["plan"]), "summary_json",
                                           "[1]"), "年度检查计划")
    refused_here(laptop, lambda s: setattr(s.get(PlanTask, received["task"]), "inspector_ids",
                                           json.dumps([str(t) for t in received["team"]])),
                 "待检任务")
    set_region(laptop)
    _insp, hazards = ordered_case(laptop, make_enterprise(laptop, credit_code=valid_credit_code("91430381MA4L54321")), received["team"],
                                  clock)
    refused_here(laptop, lambda s: setattr(s.get(Hazard, hazards[MAJOR]), "ledger_no", "湘乡重隐〔2026〕1号"),
                 "台账编号")
    refused_here(laptop, lambda s: s.add(HazardAssignment(
        hazard_id=hazards[MAJOR], assignee="月山镇", deadline=date(2026, 12, 31), note="",
        assigned_at=clock(), assigned_by="")), "交办")


def test_the_laptops_own_records_still_save(laptop, received):
    """The check looks at the office's fields only: the rest of the same rows still saves on
    a laptop (a new inspector of its own, an inspector's name corrected)."""
    from models.registry import Inspector
    with laptop.transaction(actor="张卫东") as s:
        s.get(Inspector, received["team"][1]).name = "李四光"
        s.add(Inspector(name="王五", certificate_no="43038100099"))
    with laptop.session() as s:
        assert s.get(Inspector, received["team"][1]).name == "李四光"
        assert s.scalar(select(Inspector.available).where(Inspector.certificate_no == "43038100099"))


def test_other_orm_ways_of_writing_the_offices_fields_are_refused_too(laptop, received):
    """session.merge of a detached copy, a new inspector created already 不在岗, a 待检任务
    deleted: each goes through the flush and is refused there. (A bulk ORM statement,
    session.execute(update(Inspector)…), skips the flush: it is refused by itself, as not
    audited — tests/models/test_bulk_guard; an sqlite3 edit, neither audited nor signed, the
    office takes none of: tests/sync/test_attack_office.)"""
    from models.registry import Inspector
    person = received["team"][1]

    def merged(s):
        held = s.get(Inspector, person)
        s.expunge(held)
        held.available, held.unavailable_reason = False, "借调"
        s.merge(held)
    refused_here(laptop, merged, "在岗情况")
    refused_here(laptop, lambda s: s.add(Inspector(name="赵六", certificate_no="43038100098",
                                                   available=False, unavailable_reason="病假")),
                 "在岗情况")
    refused_here(laptop, lambda s: s.delete(s.get(PlanTask, received["task"])), "待检任务")
