"""Read-only views of a year's 执法计划 for the office screen: months, draws, tasks, exclusions.

Changes go through models.plan_rules; this module only reads, and names what the draw
recorded by ids (enterprises, inspectors) so the screen shows people, not uuids.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.plan_rules import COLOUR_LABELS, PlanRules, active_draws, round_months
from models.planning import InspectionPlan, PlanDraw
from models.registry import Enterprise, Inspector, RiskColour


@dataclass(frozen=True)
class MonthRow:
    month: int
    inspections: int
    teams: int


@dataclass(frozen=True)
class PlanOverview:
    id: uuid.UUID
    year: int
    rounds: int
    months: list[MonthRow]
    focus: list[str]              # 重点检查 enterprises, by name
    next_round: int | None        # None once every round is drawn
    next_round_months: tuple[int, int] | None


@dataclass(frozen=True)
class DrawTaskRow:
    enterprise: str
    risk: RiskColour
    team: str
    first_month: int
    due_month: int


@dataclass(frozen=True)
class ExclusionRow:
    subject: str   # the enterprise, the inspector, both, or a class
    reason: str


@dataclass(frozen=True)
class DrawView:
    id: uuid.UUID
    round: int
    seed: str
    drawn_at: datetime
    drawn_by: str
    reason: str                  # why it was redrawn ("" for a first draw)
    replaces_id: uuid.UUID | None
    replaced: bool               # a later redraw took its place
    tasks: list[DrawTaskRow]
    exclusions: list[ExclusionRow]

    @property
    def title(self) -> str:
        state = "（已被重抽取代）" if self.replaced else "（重抽）" if self.replaces_id else ""
        return f"第 {self.round} 轮 · {self.drawn_at.astimezone():%Y-%m-%d %H:%M} · 种子 {self.seed}{state}"


def draw_pool(session: Session) -> tuple[int, int]:
    """What a draw now picks from: enterprises in the register, inspectors who can be drawn."""
    firms = len(session.scalars(select(Enterprise.id)).all())
    people = len(session.scalars(select(Inspector.id).where(Inspector.active.is_(True),
                                                             Inspector.available.is_(True))).all())
    return firms, people


def plan_years(session: Session) -> list[int]:
    return list(session.scalars(select(InspectionPlan.year).order_by(InspectionPlan.year)))


def plans_by_year(session: Session) -> list[tuple[int, uuid.UUID]]:
    """(year, plan id) of every annual plan, oldest first."""
    return [tuple(r) for r in session.execute(select(InspectionPlan.year, InspectionPlan.id)
                                              .order_by(InspectionPlan.year))]


def plan_overview(session: Session, year: int) -> PlanOverview | None:
    plan = session.scalar(select(InspectionPlan).where(InspectionPlan.year == year))
    if plan is None:
        return None
    rules = PlanRules.from_json(plan.rules_json)
    done = {d.round for d in active_draws(session, plan.id)}
    nxt = next((r for r in range(1, rules.rounds + 1) if r not in done), None)
    names = _enterprise_names(session)
    return PlanOverview(
        id=plan.id, year=plan.year, rounds=rules.rounds,
        months=[MonthRow(m["month"], m["inspections"], m["teams"])
                for m in json.loads(plan.summary_json)],
        focus=[names.get(f, "？") for f in json.loads(plan.focus_json)],
        next_round=nxt, next_round_months=round_months(nxt, rules.rounds) if nxt else None)


def _enterprise_names(session: Session) -> dict[str, str]:
    return {str(i): n for i, n in session.execute(select(Enterprise.id, Enterprise.name))}


def _inspector_names(session: Session) -> dict[str, str]:
    return {str(i): n for i, n in session.execute(select(Inspector.id, Inspector.name))}


def draw_views(session: Session, plan_id: uuid.UUID) -> list[DrawView]:
    """Every draw of the plan by round; within a round the current one first, then those it
    replaced (kept and marked), newest to oldest."""
    firms, people = _enterprise_names(session), _inspector_names(session)
    draws = session.scalars(select(PlanDraw).where(PlanDraw.plan_id == plan_id)).all()
    by_id = {d.id: d for d in draws}
    replaced = {d.replaces_id for d in draws if d.replaces_id}

    def depth(d: PlanDraw) -> int:  # how many redraws lie behind it; clocks may tie
        n = 0
        while d.replaces_id in by_id:
            d, n = by_id[d.replaces_id], n + 1
        return n

    draws = sorted(draws, key=lambda d: (d.round, -depth(d)))
    return [DrawView(id=d.id, round=d.round, seed=d.seed, drawn_at=d.drawn_at, drawn_by=d.drawn_by,
                     reason=d.reason, replaces_id=d.replaces_id, replaced=d.id in replaced,
                     tasks=[_task_row(t, firms, people) for t in json.loads(d.result_json)],
                     exclusions=[_exclusion_row(x, firms, people)
                                 for x in json.loads(d.exclusions_json)])
            for d in draws]


def _task_row(task: dict, firms: dict, people: dict) -> DrawTaskRow:
    return DrawTaskRow(enterprise=firms.get(task["enterprise_id"], "？"), risk=RiskColour(task["risk"]),
                       team="、".join(people.get(i, "？") for i in task["inspector_ids"]),
                       first_month=task["first_month"], due_month=task["due_month"])


def _exclusion_row(x: dict, firms: dict, people: dict) -> ExclusionRow:
    parts = []
    if x.get("enterprise_id"):
        parts.append(firms.get(x["enterprise_id"], "？"))
    if x.get("inspector_id"):
        parts.append(f"执法人员 {people.get(x['inspector_id'], '？')}")
    if x.get("risk"):
        parts.append(f"{COLOUR_LABELS.get(x['risk'], x['risk'])}类企业")
    return ExclusionRow(subject=" · ".join(parts) or "—", reason=x.get("reason", ""))
