"""分类分级 from the rules of 设置: each enterprise's class and the rule that decided it; a class
set by hand overrides and says so; `plan create` plans by these classes."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest

from models.enterprise_rules import EnterpriseInput, update_enterprise
from models.errors import ValidationError
from models.plan_rules import PlanRules, create_plan, load_rules, risk_decisions, save_rules
from models.register_queries import enterprise_input, list_enterprises
from models.registry import Enterprise, RiskColour
from models.risk_class import (Condition, RiskFacts, RiskRule, RiskRules, decide,
                               months_before)
from tests.conftest import make_enterprise, make_office, valid_credit_code
from tests.models.test_register_queries import _finalize_with, _major_item

TODAY = date(2026, 11, 2)
RULES = RiskRules()


def test_the_highest_class_that_holds_decides_and_none_gives_the_default():
    plain = decide(RULES, RiskFacts(areas=frozenset()), TODAY)
    assert (plain.colour, plain.rule) == (RiskColour.BLUE, "")
    assert "未满足任何定级条件" in plain.basis
    dust = decide(RULES, RiskFacts(areas=frozenset({"dust"})), TODAY)
    assert (dust.colour, dust.rule) == (RiskColour.YELLOW, "涉及 1 个及以上领域")
    ammonia = decide(RULES, RiskFacts(areas=frozenset({"ammonia"})), TODAY)
    assert (ammonia.colour, ammonia.rule) == (RiskColour.ORANGE, "涉氨制冷")
    both = decide(RULES, RiskFacts(areas=frozenset({"dust", "confined_space"}),
                                   major_found=(date(2026, 3, 1),)), TODAY)
    assert (both.colour, both.basis) == (RiskColour.RED, "规则：近 12 个月查出重大事故隐患 1 项及以上")


def test_a_major_hazard_counts_only_inside_its_window():
    """Found 2025-11-02: inside the 12 months to 2026-11-02, outside a day later."""
    facts = RiskFacts(areas=frozenset({"dust"}), major_found=(date(2025, 11, 2),))
    assert decide(RULES, facts, TODAY).colour == RiskColour.RED
    assert decide(RULES, facts, date(2026, 11, 3)).colour == RiskColour.YELLOW
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_a_class_set_by_hand_overrides_and_says_what_the_rules_would_give():
    d = decide(RULES, RiskFacts(areas=frozenset({"dust"})), TODAY, RiskColour.RED,
               "2026 年发生粉尘燃爆未遂事件")
    assert (d.colour, d.derived, d.by_hand) == (RiskColour.RED, RiskColour.YELLOW, True)
    assert d.basis == ("手动定级（优先于规则）：2026 年发生粉尘燃爆未遂事件；"
                       "按规则应为黄（涉及 1 个及以上领域）")
    # A colour without a reason is no hand-set class.
    assert decide(RULES, RiskFacts(areas=frozenset()), TODAY, RiskColour.RED, "").colour == RiskColour.BLUE


def test_rules_with_nonsense_are_refused(store):
    make_office(store)  # the rules are the office's (a laptop's refusal: test_office_only)
    rules = PlanRules()
    rules.risk.rules.append(RiskRule("purple", [Condition("area", area="dust")]))
    rules.risk.rules.append(RiskRule("red", [Condition("open_hazards", count=0)]))
    with pytest.raises(ValidationError) as caught, store.transaction() as s:
        save_rules(s, rules)
    text = " ".join(caught.value.problems)
    assert "第 6 条定级规则的等级应为红、橙、黄、蓝之一" in text and "至少为 1" in text


def test_a_major_hazard_found_makes_the_firm_red_in_the_register(store, enterprise_id,
                                                                inspection_id, clock):
    """The 涉粉 firm is 黄 by the rules; a finalized inspection finds a major hazard: 红, with
    the rule named; 13 months on it is 黄 again."""
    [row] = _rows(store)
    assert (row.risk_colour, row.risk_by_hand) == (RiskColour.YELLOW, False)
    _finalize_with(store, inspection_id, {_major_item(store, inspection_id).id})
    [row] = _rows(store)
    assert (row.risk_colour, row.risk_basis) == (RiskColour.RED,
                                                  "规则：近 12 个月查出重大事故隐患 1 项及以上")
    clock.advance(days=400)
    assert _rows(store)[0].risk_colour == RiskColour.YELLOW


def _rows(store):
    with store.session() as s:
        return list_enterprises(s)


def _firms(store):
    """Four firms the rules class differently, and one set by hand."""
    specs = [dict(has_dust=False), dict(has_dust=True), dict(has_dust=False, has_ammonia=True),
             dict(has_dust=True, has_confined_space=True), dict(has_dust=False)]
    ids = [make_enterprise(store, name=f"分级测试{n}有限公司", township="月山镇",
                           credit_code=valid_credit_code(f"91430381MA4R{n:05d}"), **spec)
           for n, spec in enumerate(specs)]
    with store.transaction() as s:
        data = enterprise_input(s, ids[4])
        data.risk_colour, data.risk_reason = RiskColour.RED, "发生有限空间中毒未遂事件"
        update_enterprise(s, ids[4], data)
    return ids


def test_plan_create_plans_by_the_derived_classes(store):
    """The plan's quotas count the classes the rules give (and the hand-set one), not the
    colour a script once passed; the stored class follows, so the draw reads the same."""
    make_office(store)  # plans are made at the office
    ids = _firms(store)
    with store.transaction() as s:
        s.get(Enterprise, ids[0]).risk_colour = RiskColour.RED  # a stale colour, no reason
    with store.transaction() as s:
        plan = create_plan(s, 2027, [])
        quotas = Counter()
        for by_class in json.loads(plan.quotas_json).values():
            quotas.update(by_class)
        stored = [s.get(Enterprise, i).risk_colour for i in ids]
    # 红: the hand-set one twice; 橙: 涉氨 and the two-area firm once each; 黄 30 % of 1; 蓝 10 % of 1.
    assert dict(quotas) == {"red": 2, "orange": 2, "yellow": 1, "blue": 1}
    assert stored == [RiskColour.BLUE, RiskColour.YELLOW, RiskColour.ORANGE, RiskColour.ORANGE,
                      RiskColour.RED]


def test_rules_edited_in_settings_change_the_classes(store):
    """涉粉 made 橙 by a new rule: the 涉粉 firms are 橙 in the register and in the plan."""
    make_office(store)  # rules and plans are the office's
    ids = _firms(store)
    rules = PlanRules()
    rules.risk.rules.insert(0, RiskRule("orange", [Condition("area", area="dust")]))
    with store.transaction() as s:
        save_rules(s, rules)
    with store.session() as s:
        assert load_rules(s).risk.rules[0].text() == "涉粉尘爆炸"
        decisions = risk_decisions(s)
    assert decisions[ids[1]].colour == RiskColour.ORANGE and decisions[ids[1]].rule == "涉粉尘爆炸"
    with store.transaction() as s:
        plan = create_plan(s, 2027, [])
        assert json.loads(plan.rules_json)["risk"]["rules"][0]["conditions"][0]["area"] == "dust"
        assert s.get(Enterprise, ids[1]).risk_colour == RiskColour.ORANGE


def test_going_back_to_the_rules_clears_the_reason(store):
    ids = _firms(store)
    with store.transaction() as s:
        data = enterprise_input(s, ids[4])
        assert (data.risk_colour, data.risk_reason) == (RiskColour.RED, "发生有限空间中毒未遂事件")
        update_enterprise(s, ids[4], EnterpriseInput(**{**vars(data), "risk_colour": None}))
    with store.session() as s:
        firm = s.get(Enterprise, ids[4])
        assert (firm.risk_colour, firm.risk_reason) == (RiskColour.BLUE, "")
        assert enterprise_input(s, ids[4]).risk_colour is None


def test_a_draw_reads_the_classes_of_the_day_it_is_made(store, enterprise_id, inspection_id, team):
    """A major hazard found after the plan was made: the next draw takes the firm as 红, and
    its recorded inputs say so (the replay reads the recorded class)."""
    from models.plan_rules import draw_round, verify_plan
    from models.registry import Inspector
    make_office(store)  # plans and draws are made at the office
    with store.transaction() as s:
        s.add_all([Inspector(name=f"执法员{n}", certificate_no=f"4303812900{n}") for n in range(2)])
        plan_id = create_plan(s, 2027, []).id
        assert s.get(Enterprise, enterprise_id).risk_colour == RiskColour.YELLOW
    _finalize_with(store, inspection_id, {_major_item(store, inspection_id).id})
    with store.transaction() as s:
        draw = draw_round(s, plan_id, "1")
        recorded = {e["id"]: e["risk"] for e in json.loads(draw.inputs_json)["enterprises"]}
        assert recorded[str(enterprise_id)] == "red"
        assert s.get(Enterprise, enterprise_id).risk_colour == RiskColour.RED
    with store.session() as s:
        assert verify_plan(s, plan_id) == []
