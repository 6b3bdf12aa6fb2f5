"""分类分级: an enterprise's risk class (红/橙/黄/蓝) from the rules of 设置 → 计划规则, or by hand.

The rules are data (kept with the planning rules, `PlanRules.risk`): each names a class and
conditions that must all hold, on what the register records of the enterprise — its hazard
areas (涉粉尘爆炸 / 涉氨制冷 / 有限空间作业), the major hazards found at its finalized
inspections in the last N months, its hazards not yet closed off, and when it was last
inspected. The highest class among the rules that hold decides (among rules of the same
class, the first listed); none holding gives the default class.

A class set by hand carries its reason (`Enterprise.risk_reason`) and overrides the rules;
the decision says both. `decide` is the one rule; everything else calls it.
"""
from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.inspection import Hazard, HazardStatus, Inspection, InspectionKind, InspectionStatus
from models.local_time import agency_date
from models.registry import Enterprise, RiskColour

COLOURS = ("red", "orange", "yellow", "blue")   # most serious first
COLOUR_NAMES = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
AREAS = {"dust": ("has_dust", "涉粉尘爆炸"), "ammonia": ("has_ammonia", "涉氨制冷"),
         "confined_space": ("has_confined_space", "有限空间作业")}
KINDS = {  # kind → what it asks of the enterprise, as the settings screen names it
    "area": "涉及某一领域",
    "areas_at_least": "涉及领域数至少",
    "major_hazards": "近 N 个月查出重大事故隐患至少",
    "open_hazards": "未销号隐患至少",
    "not_inspected": "超过 N 个月未检查（含从未检查）",
}


@dataclass
class Condition:
    kind: str          # one of KINDS
    area: str = ""     # "area": dust / ammonia / confined_space
    count: int = 1     # areas_at_least, major_hazards, open_hazards: at least this many
    months: int = 12   # major_hazards: the window; not_inspected: how long without

    def text(self) -> str:
        if self.kind == "area":
            return AREAS[self.area][1]
        if self.kind == "areas_at_least":
            return f"涉及 {self.count} 个及以上领域"
        if self.kind == "major_hazards":
            return f"近 {self.months} 个月查出重大事故隐患 {self.count} 项及以上"
        if self.kind == "open_hazards":
            return f"未销号隐患 {self.count} 项及以上"
        return f"{self.months} 个月以上未检查（含从未检查）"

    def problems(self) -> list[str]:
        if self.kind not in KINDS:
            return [f"未知的定级条件：{self.kind}"]
        if self.kind == "area" and self.area not in AREAS:
            return [f"未知的领域：{self.area}"]
        if self.count < 1 or self.months < 1:
            return [f"定级条件“{self.text()}”的数目和月数至少为 1"]
        return []


@dataclass
class RiskRule:
    colour: str
    conditions: list[Condition]

    def text(self) -> str:
        return "且".join(c.text() for c in self.conditions)


def default_risk_rules() -> list[RiskRule]:
    return [
        RiskRule("red", [Condition("major_hazards", count=1, months=12)]),
        RiskRule("orange", [Condition("area", area="ammonia")]),
        RiskRule("orange", [Condition("areas_at_least", count=2)]),
        RiskRule("yellow", [Condition("areas_at_least", count=1)]),
        RiskRule("yellow", [Condition("open_hazards", count=3)]),
    ]


@dataclass
class RiskRules:
    rules: list[RiskRule] = field(default_factory=default_risk_rules)
    default: str = "blue"   # the class when no rule holds

    @classmethod
    def from_data(cls, raw: dict) -> RiskRules:
        return cls(rules=[RiskRule(r["colour"], [Condition(**c) for c in r["conditions"]])
                          for r in raw.get("rules", [])], default=raw.get("default", "blue"))

    def to_data(self) -> dict:
        return asdict(self)

    def problems(self) -> list[str]:
        out = [] if self.default in COLOURS else ["默认风险等级应为红、橙、黄、蓝之一"]
        for n, rule in enumerate(self.rules, 1):
            if rule.colour not in COLOURS:
                out.append(f"第 {n} 条定级规则的等级应为红、橙、黄、蓝之一")
            if not rule.conditions:
                out.append(f"第 {n} 条定级规则没有条件")
            for c in rule.conditions:
                out += [f"第 {n} 条定级规则：{p}" for p in c.problems()]
        return out


@dataclass(frozen=True)
class RiskFacts:
    """What the register records of one enterprise, as the rules read it."""
    areas: frozenset[str]
    major_found: tuple[date, ...] = ()   # the days major hazards were found (finalized inspections)
    open_hazards: int = 0
    last_inspected: date | None = None


@dataclass(frozen=True)
class RiskDecision:
    colour: RiskColour        # the class in force
    derived: RiskColour       # what the rules give
    rule: str                 # the rule that gave `derived`; "" when none held (the default)
    hand_reason: str = ""     # set by hand: the reason, and the hand-set class is in force

    @property
    def by_hand(self) -> bool:
        return bool(self.hand_reason)

    @property
    def basis(self) -> str:
        """One line for the register: why the enterprise has its class."""
        ruled = f"规则：{self.rule}" if self.rule else "规则：未满足任何定级条件（默认等级）"
        if self.by_hand:
            return (f"手动定级（优先于规则）：{self.hand_reason}；"
                    f"按规则应为{COLOUR_NAMES[self.derived.value]}（{ruled[3:]}）")
        return ruled


def months_before(day: date, months: int) -> date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    for d in (day.day, 30, 29, 28):  # the same day of the month, or its last day
        try:
            return date(y, m, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _holds(c: Condition, facts: RiskFacts, today: date) -> bool:
    if c.kind == "area":
        return c.area in facts.areas
    if c.kind == "areas_at_least":
        return len(facts.areas) >= c.count
    if c.kind == "major_hazards":
        since = months_before(today, c.months)
        return sum(since <= d <= today for d in facts.major_found) >= c.count
    if c.kind == "open_hazards":
        return facts.open_hazards >= c.count
    if c.kind == "not_inspected":
        return facts.last_inspected is None or facts.last_inspected < months_before(today, c.months)
    return False


def decide(rules: RiskRules, facts: RiskFacts, today: date, hand_colour: RiskColour | None = None,
           hand_reason: str = "") -> RiskDecision:
    """The class of one enterprise: the highest rule that holds, unless set by hand with a reason."""
    held = [r for r in rules.rules if all(_holds(c, facts, today) for c in r.conditions)]
    best = min(held, key=lambda r: COLOURS.index(r.colour), default=None)
    derived = RiskColour(best.colour if best else rules.default)
    rule = best.text() if best else ""
    reason = hand_reason.strip()
    if reason and hand_colour is not None:
        return RiskDecision(hand_colour, derived, rule, reason)
    return RiskDecision(derived, derived, rule)


def areas_of(has_dust: bool, has_ammonia: bool, has_confined_space: bool) -> frozenset[str]:
    flags = {"has_dust": has_dust, "has_ammonia": has_ammonia, "has_confined_space": has_confined_space}
    return frozenset(a for a, (flag, _) in AREAS.items() if flags[flag])


def register_facts(session: Session, enterprise_id: uuid.UUID | None = None,
                   hand: dict | None = None) -> dict[uuid.UUID, RiskFacts]:
    """Every enterprise's facts (or one's), in four queries (the register can hold thousands);
    `hand` receives each one's stored (colour, reason)."""
    hand = {} if hand is None else hand
    def only(query, column):
        return query if enterprise_id is None else query.where(column == enterprise_id)

    major: dict[uuid.UUID, list[date]] = {}
    for eid, found in session.execute(only(
            select(Hazard.enterprise_id, Hazard.found_at)
            .join(Inspection, Inspection.id == Hazard.inspection_id)
            .where(Hazard.is_major.is_(True), Hazard.status != HazardStatus.WITHDRAWN,
                   Inspection.status == InspectionStatus.FINALIZED), Hazard.enterprise_id)):
        major.setdefault(eid, []).append(agency_date(found))
    open_counts = dict(session.execute(only(
        select(Hazard.enterprise_id, func.count())
        .join(Inspection, Inspection.id == Hazard.inspection_id)
        .where(Hazard.status.in_((HazardStatus.OPEN, HazardStatus.NOT_RECTIFIED)),
               Inspection.status == InspectionStatus.FINALIZED), Hazard.enterprise_id)
        .group_by(Hazard.enterprise_id)).all())
    last = dict(session.execute(only(
        select(Inspection.enterprise_id, func.max(Inspection.started_at))
        .where(Inspection.status == InspectionStatus.FINALIZED,
               Inspection.kind == InspectionKind.INSPECTION), Inspection.enterprise_id)
        .group_by(Inspection.enterprise_id)).all())
    facts = {}
    firms = session.execute(only(select(Enterprise.id, Enterprise.has_dust, Enterprise.has_ammonia,
                                        Enterprise.has_confined_space, Enterprise.risk_colour,
                                        Enterprise.risk_reason), Enterprise.id))
    for eid, dust, ammonia, confined, colour, reason in firms:  # columns, not objects
        facts[eid] = RiskFacts(
            areas=areas_of(dust, ammonia, confined),
            major_found=tuple(sorted(major.get(eid, ()))), open_hazards=open_counts.get(eid, 0),
            last_inspected=agency_date(last[eid]) if last.get(eid) else None)
        hand[eid] = (colour, reason)
    return facts


def register_decisions(session: Session, rules: RiskRules, today: date) -> dict[uuid.UUID, RiskDecision]:
    hand: dict = {}
    facts = register_facts(session, hand=hand)
    seen: dict = {}  # most firms share their facts (an area, nothing found): decide once each
    out = {}
    for eid, f in facts.items():
        key = (f, *hand[eid])
        if key not in seen:
            seen[key] = decide(rules, f, today, *hand[eid])
        out[eid] = seen[key]
    return out


def apply_classes(session: Session, rules: RiskRules, today: date) -> dict[uuid.UUID, RiskDecision]:
    """Write the class in force into each enterprise that follows the rules (an audited update
    where it changed), so the plan, the draw and the office's views read one class."""
    decisions = register_decisions(session, rules, today)
    for e in session.scalars(select(Enterprise)):
        d = decisions[e.id]
        if not d.by_hand and e.risk_colour != d.colour:
            e.risk_colour = d.colour
    session.flush()
    return decisions
