"""名录库 for the GUI: availability with a reason, 回避 add/remove, plan views, risk reasons."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.audit import AuditEvent
from models.enterprise_rules import update_enterprise
from models.errors import ValidationError
from models.plan_people import (add_avoidance, availability, list_avoidances, remove_avoidance,
                                set_availability, townships)
from models.plan_rules import create_plan, draw_inputs, draw_round
from models.plan_views import draw_views, plan_overview, plan_years
from models.planning import InspectorAvoidance
from models.register_queries import enterprise_input, list_enterprises
from models.registry import Inspector, RiskColour
from tests.conftest import make_enterprise, make_office, valid_credit_code


@pytest.fixture
def people(store):
    """Four inspectors, at the office: it alone registers 在岗 and 回避 (the laptop's refusal:
    tests/models/test_office_only.py)."""
    make_office(store)
    with store.transaction() as s:
        rows = [Inspector(name=f"执法员{n}", certificate_no=f"4303812200{n}") for n in range(4)]
        s.add_all(rows)
        s.flush()
        return [p.id for p in rows]


def test_unavailable_needs_a_reason_and_the_draw_reads_it(store, people, enterprise_id):
    """不在岗 without a reason is refused; with one it is stored and the draw skips the person."""
    with pytest.raises(ValidationError, match="理由"), store.transaction() as s:
        set_availability(s, people[0], False, "  ")
    with store.transaction() as s:
        set_availability(s, people[0], False, "脱产培训")
    with store.session() as s:
        row = next(r for r in availability(s) if r.id == people[0])
        assert (row.available, row.reason) == (False, "脱产培训")
        plan = create_plan(s, 2027, [])
        inputs = draw_inputs(s, plan, 1, "x")
    assert {p["id"]: p["available"] for p in inputs["inspectors"]}[str(people[0])] is False
    with store.transaction() as s:
        set_availability(s, people[0], True, "脱产培训")
    with store.session() as s:
        row = next(r for r in availability(s) if r.id == people[0])
    assert (row.available, row.reason) == (True, "")


def test_avoidance_is_one_enterprise_or_one_township_with_a_reason(store, people, enterprise_id):
    """Both or neither target, no reason, or the same entry twice are refused, with reasons."""
    with pytest.raises(ValidationError) as both, store.transaction() as s:
        add_avoidance(s, people[0], enterprise_id=enterprise_id, township="月山镇", reason="x")
    assert "二选一" in " ".join(both.value.problems)
    with pytest.raises(ValidationError) as none, store.transaction() as s:
        add_avoidance(s, people[0], reason="")
    assert len(none.value.problems) == 2
    with store.transaction() as s:
        add_avoidance(s, people[0], enterprise_id=enterprise_id, reason="近亲属任职")
        add_avoidance(s, people[1], township=" 月山镇 ", reason="曾在该镇挂职")
    with pytest.raises(ValidationError, match="回避登记有误"), store.transaction() as s:
        add_avoidance(s, people[1], township="月山镇", reason="又一次")
    with store.session() as s:
        rows = list_avoidances(s)
    assert {(r.inspector, r.enterprise, r.township, r.reason) for r in rows} == {
        ("执法员0", "湘乡市测试木业有限公司", "", "近亲属任职"), ("执法员1", "", "月山镇", "曾在该镇挂职")}


def test_removing_an_avoidance_leaves_an_audit_record(store, people, enterprise_id):
    """A removed 回避 is gone from the list and the audit chain holds its delete."""
    with store.transaction() as s:
        entry_id = add_avoidance(s, people[0], enterprise_id=enterprise_id, reason="近亲属任职").id
    with store.transaction() as s:
        remove_avoidance(s, entry_id)
    with store.session() as s:
        assert s.scalar(select(InspectorAvoidance)) is None
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(entry_id))))
    assert actions == ["create", "delete"]


def test_townships_come_from_the_register(store):
    make_enterprise(store, township="月山镇")
    make_enterprise(store, name="另一家有限公司", credit_code=valid_credit_code("91430381MA4L22222"),
                    township="壶天镇")
    with store.session() as s:
        assert townships(s) == ["壶天镇", "月山镇"]


def test_changing_the_risk_class_by_hand_needs_a_fresh_reason(store, enterprise_id):
    """Same class: no reason needed; another class: a reason, and not the previous one."""
    with store.session() as s:
        data = enterprise_input(s, enterprise_id)
    data.phone = "13907320000"
    with store.transaction() as s:
        update_enterprise(s, enterprise_id, data)
    data.risk_colour = RiskColour.RED
    with pytest.raises(ValidationError) as exc, store.transaction() as s:
        update_enterprise(s, enterprise_id, data)
    assert exc.value.problems == ["调整风险等级须写明理由"]
    data.risk_reason = "2026 年发生粉尘燃爆未遂事件"
    with store.transaction() as s:
        update_enterprise(s, enterprise_id, data)
    data.risk_colour = RiskColour.ORANGE
    with pytest.raises(ValidationError, match="企业信息有误"), store.transaction() as s:
        update_enterprise(s, enterprise_id, data)
    with store.session() as s:
        row = list_enterprises(s)[0]
    assert (row.risk_colour, row.risk_reason) == (RiskColour.RED, "2026 年发生粉尘燃爆未遂事件")


def test_register_rows_carry_township_and_search_finds_it(store):
    make_enterprise(store, township="月山镇")
    with store.session() as s:
        assert [r.township for r in list_enterprises(s, "月山")] == ["月山镇"]
        assert list_enterprises(s, "壶天") == []


def test_plan_views_name_tasks_and_exclusions(store, people):
    """The draw view names the enterprise, the team and why someone was left out."""
    firm = make_enterprise(store, risk_colour=RiskColour.RED, risk_reason="2026 年发生粉尘燃爆未遂事件",
                           township="月山镇")
    with store.transaction() as s:
        set_availability(s, people[3], False, "病假")
        add_avoidance(s, people[0], township="月山镇", reason="曾挂职")
        plan_id = create_plan(s, 2027, []).id
    with store.session() as s:
        assert plan_years(s) == [2027]
        overview = plan_overview(s, 2027)
        assert overview.next_round == 1 and overview.next_round_months == (1, 3)
        assert sum(m.inspections for m in overview.months) == 2
        assert plan_overview(s, 2030) is None
    with store.transaction() as s:
        draw_round(s, plan_id, "abc", actor="办公室")
    with store.session() as s:
        [view] = draw_views(s, plan_id)
        assert plan_overview(s, 2027).next_round == 2
    [task] = view.tasks
    assert task.enterprise == "湘乡市测试木业有限公司" and task.risk == RiskColour.RED
    assert set(task.team.split("、")) == {"执法员1", "执法员2"}
    reasons = {(x.subject, x.reason) for x in view.exclusions}
    assert ("执法人员 执法员3", "不在岗（不可抽取）") in reasons
    assert ("湘乡市测试木业有限公司 · 执法人员 执法员0", "回避（月山镇）：曾挂职") in reasons
    assert view.title.startswith("第 1 轮") and "种子 abc" in view.title
    with store.transaction() as s:
        draw_round(s, plan_id, "def", redraw_of=view.id, reason="抽取时未通知纪检人员到场")
    with store.session() as s:
        new, old = draw_views(s, plan_id)
    assert (new.replaces_id, new.reason, old.replaced) == (view.id, "抽取时未通知纪检人员到场", True)
    assert "已被重抽取代" in old.title and "（重抽）" in new.title
