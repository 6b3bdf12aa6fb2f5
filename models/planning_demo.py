"""The demo's 名录库: enough enterprises and inspectors to try a 双随机 draw.

32 enterprises in all (with the six of models.demo) across the four risk classes, the three
hazard areas and ten townships; seven inspectors, two of them with 回避 entries and one away.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.enterprise_rules import EnterpriseInput, create_enterprise, credit_check_char
from models.plan_rules import rule_class
from models.planning import InspectorAvoidance
from models.registry import Enterprise, Inspector, RiskColour
from models.risk_class import areas_of

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
    the office), four more inspectors and 回避 entries."""
    for firm, township in zip(firms, TOWNSHIPS_OF_FIRST_SIX):
        firm.township = township
    extra = []
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
        extra.append(firm)
    if people is None:
        return
    more = [Inspector(name=name, certificate_no=cert) for name, cert in EXTRA_INSPECTORS]
    more[-1].available = False
    more[-1].unavailable_reason = "脱产培训至年底"
    session.add_all(more)
    session.flush()
    everyone = [*people, *more]
    session.add_all([
        InspectorAvoidance(inspector_id=everyone[0].id, enterprise_id=firms[1].id,
                           reason="近亲属在该企业任职"),
        InspectorAvoidance(inspector_id=everyone[3].id, township="月山镇",
                           reason="曾在月山镇挂职，与辖区企业有利害关系"),
        InspectorAvoidance(inspector_id=everyone[4].id, enterprise_id=extra[2].id,
                           reason="曾为该企业提供安全咨询服务"),
    ])


def has_planning_register(session: Session) -> bool:
    return session.scalar(select(Enterprise.id).where(
        Enterprise.credit_code == extra_credit_code(0))) is not None
