"""The demo's 名录库: enough enterprises and inspectors to try a 双随机 draw.

32 enterprises in all (with the six of models.demo) across the four risk classes, the three
hazard areas and ten townships; seven inspectors. At the office (only the office sets them),
three of them have 回避 entries and one is away: on a demo laptop, `agency create` adds them.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.enterprise_rules import EnterpriseInput, create_enterprise, credit_check_char
from models.plan_people import add_avoidance, set_availability
from models.plan_rules import rule_class
from models.planning import InspectorAvoidance
from models.registry import Enterprise, Inspector, RiskColour
from models.risk_class import areas_of
from models.store_mode import session_is_office

TOWNSHIPS_OF_FIRST_SIX = ["经济开发区", "月山镇", "东山街道", "壶天镇", "泉塘镇", "虞唐镇"]
EXTRA_INSPECTORS = [("赵国强", "43038120004"), ("孙丽娟", "43038120005"),
                    ("周文斌", "43038120006"), ("吴海燕", "43038120007")]
TOWNSHIPS = ["月山镇", "壶天镇", "泉塘镇", "虞唐镇", "东山街道", "昆仑桥街道", "棋梓镇", "山枣镇",
             "翻江镇", "金石镇"]
# (trade in the name, hazard flags)
TRADES = [("木业", dict(has_dust=True)), ("铝制品", dict(has_dust=True)),
          ("饲料", dict(has_dust=True, has_confined_space=True)),
          ("冷冻食品", dict(has_ammonia=True)),
          ("冷链仓储", dict(has_ammonia=True, has_confined_space=True)),
          ("酿造", dict(has_confined_space=True)), ("纸业", dict(has_confined_space=True)),
          ("家具", dict(has_dust=True)), ("面粉", dict(has_dust=True, has_confined_space=True)),
          ("水产冷链", dict(has_ammonia=True))]
BRANDS = ["兴旺", "宏泰", "永盛", "瑞丰", "长青", "华鑫", "顺达", "金源", "富民", "新航", "振兴",
          "恒昌", "安泰", "利民", "天成", "嘉禾", "广源", "丰泽", "立信", "鸿运", "明珠", "德润",
          "和美", "信达", "晨光", "远大"]
HAND_REASONS = {RiskColour.RED: "2026 年发生粉尘燃爆未遂事件，局务会研判定为红色",
                RiskColour.ORANGE: "存在较大危险因素的租赁厂房，经现场评估上调",
                RiskColour.YELLOW: "已完成工艺改造，经现场评估调整",
                RiskColour.BLUE: "相关工艺已停用，经现场核查定为低风险"}
COLOURS = [RiskColour.RED] * 2 + [RiskColour.ORANGE] * 6 + [RiskColour.YELLOW] * 9 + \
    [RiskColour.BLUE] * 9


def extra_credit_code(n: int) -> str:
    first17 = f"91430381MA4LP{n:04d}"
    return first17 + credit_check_char(first17)


def add_planning_register(session: Session, firms: list[Enterprise],
                          people: list[Inspector] | None) -> None:
    """Townships for the first six, 26 more enterprises; with `people` (the first laptop and
    the office), four more inspectors — and at the office its 不在岗 and 回避 entries."""
    for firm, township in zip(firms, TOWNSHIPS_OF_FIRST_SIX):
        firm.township = township
    for n, (brand, colour) in enumerate(zip(BRANDS, COLOURS)):
        trade, flags = TRADES[n % len(TRADES)]
        township = TOWNSHIPS[n % len(TOWNSHIPS)]
        # Most follow the rules of 设置; where the demo wants another class, it is set by
        # hand with a reason, so the register shows both kinds.
        ruled = rule_class(session, areas_of(flags.get("has_dust", False),
                                             flags.get("has_ammonia", False),
                                             flags.get("has_confined_space", False))).colour
        firm = create_enterprise(session, EnterpriseInput(
            name=f"湘乡市{brand}{trade}有限公司", credit_code=extra_credit_code(n),
            address=f"湘乡市{township}工业园 {n + 1} 号", legal_representative="",
            representative_post="", phone="", risk_colour=colour,
            risk_reason="" if colour == ruled else HAND_REASONS[colour], **flags))
        firm.township = township
    if people is None:
        return
    session.add_all([Inspector(name=name, certificate_no=cert) for name, cert in EXTRA_INSPECTORS])
    session.flush()
    if session_is_office(session):  # the demo made at the office: its 名录库 at once
        add_office_register(session)


# The office's part of the demo's 名录库 (who is 不在岗, 回避: only the office sets them,
# sync.authority): (执法证号, 企业 credit code or None, 乡镇, reason).
OFFICE_AWAY = ("43038120007", "脱产培训至年底")
OFFICE_AVOIDANCES = [("43038120001", "first-six:1", "", "近亲属在该企业任职"),
                     ("43038120004", None, "月山镇", "曾在月山镇挂职，与辖区企业有利害关系"),
                     ("43038120005", "extra:2", "", "曾为该企业提供安全咨询服务")]


def add_office_register(session: Session) -> bool:
    """At the office of a demo (the demo made there, or `agency create` on a demo store):
    one inspector 不在岗 and three 回避, through the 设置 screen's own rules. False when they
    are there already, or the store lacks the demo's first laptop's people."""
    from models.demo import demo_credit_code
    people = {p.certificate_no: p for p in session.scalars(select(Inspector).where(
        Inspector.certificate_no.in_([OFFICE_AWAY[0], *(a[0] for a in OFFICE_AVOIDANCES)])))}
    if len(people) < 1 + len(OFFICE_AVOIDANCES) or session.scalar(select(InspectorAvoidance.id)):
        return False
    codes = {f"first-six:{n}": demo_credit_code(n) for n in range(6)} | \
        {f"extra:{n}": extra_credit_code(n) for n in range(len(BRANDS))}
    for cert, firm, township, reason in OFFICE_AVOIDANCES:
        firm_id = None if firm is None else session.scalar(
            select(Enterprise.id).where(Enterprise.credit_code == codes[firm]))
        if firm is not None and firm_id is None:
            return False  # not the demo's register
        add_avoidance(session, people[cert].id, enterprise_id=firm_id, township=township,
                      reason=reason)
    set_availability(session, people[OFFICE_AWAY[0]].id, False, OFFICE_AWAY[1])
    return True
