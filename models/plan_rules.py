"""计划执法: the annual plan from rules kept as data, its 双随机 draws, their replay, progress.

Functions take a session owned by the caller and raise FieldCheckErrors with Chinese text.
The rules (per risk class: how many times a year, what share of the class, the cap) are data
in `planning_settings`; a plan keeps a copy of the rules it was made with.
"""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from models.draw import ALGORITHM, canonical, digest, inspector_bar, run_draw
from models.errors import NotFoundError, ValidationError
from models.flush_hooks import session_now
from models.inspection import Inspection, InspectionInspector, InspectionKind, InspectionStatus
from models.planning import InspectionPlan, InspectorAvoidance, PlanDraw, PlanningSettings, PlanTask
from models.local_time import agency_date
from models.registry import Enterprise, Inspector, RiskColour
from models.risk_class import (RiskDecision, RiskFacts, RiskRules, apply_classes, decide,
                               register_decisions, register_facts)
from models.store_mode import require_office

COLOURS = ("red", "orange", "yellow", "blue")
COLOUR_LABELS = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"}
AREA_FLAGS = {"粉尘防爆": "has_dust", "有限空间作业": "has_confined_space", "涉氨制冷": "has_ammonia"}


@dataclass
class ClassRule:
    per_year: int   # inspections a year for each enterprise of the class that is planned
    share: float    # share of the class planned (1.0: every enterprise)
    cap: int        # at most this many inspections a year


@dataclass
class PlanRules:
    classes: dict[str, ClassRule] = field(default_factory=lambda: {
        "red": ClassRule(2, 1.0, 4), "orange": ClassRule(1, 1.0, 2),
        "yellow": ClassRule(1, 0.3, 1), "blue": ClassRule(1, 0.1, 1)})
    draw_share_min: float = 0.7        # 双随机 ≥ 70 % of the annual plan
    rounds: int = 4                    # draws a year (quarterly)
    team_size: int = 2                 # inspectors per inspection, at least two
    inspections_per_team_month: int = 8
    # 分类分级: the conditions that give each enterprise its class (models.risk_class).
    risk: RiskRules = field(default_factory=RiskRules)

    def to_json(self) -> str:
        return canonical(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> PlanRules:
        raw = json.loads(text)
        # Plans made before the class rules existed keep the defaults.
        rules = cls(classes={c: ClassRule(**v) for c, v in raw["classes"].items()},
                    risk=RiskRules.from_data(raw["risk"]) if "risk" in raw else RiskRules(),
                    **{k: v for k, v in raw.items() if k not in ("classes", "risk")})
        rules.check()
        return rules

    def check(self) -> None:
        problems = []
        if set(self.classes) != set(COLOURS):
            problems.append("须为红、橙、黄、蓝四类各设一条规则")
        for colour, r in self.classes.items():
            name = COLOUR_LABELS.get(colour, colour)
            if not 0 <= r.share <= 1:
                problems.append(f"{name}类的抽取比例应在 0～100% 之间")
            if r.per_year < 0 or r.cap < r.per_year:
                problems.append(f"{name}类的年检查次数不能为负，且不能超过上限")
        if not 0 <= self.draw_share_min <= 1:
            problems.append("双随机占比应在 0～100% 之间")
        if self.rounds not in (1, 2, 3, 4, 6, 12):
            problems.append("每年抽取轮数应为 1、2、3、4、6 或 12")
        if self.team_size < 2:
            problems.append("每次检查至少两名执法人员")
        if self.inspections_per_team_month < 1:
            problems.append("每组每月检查数至少为 1")
        problems += self.risk.problems()
        if problems:
            raise ValidationError("计划规则有误", problems, "请在 设置 → 计划规则、分类分级 中改正")


def today_of(session: Session) -> date:
    """The agency's date now, on the session's clock: the day the class rules are read on."""
    return agency_date(session_now(session))


def risk_decisions(session: Session) -> dict[uuid.UUID, RiskDecision]:
    """Each enterprise's class today under the rules of 设置, and what decided it."""
    return register_decisions(session, load_rules(session).risk, today_of(session))


def rule_class(session: Session, areas: frozenset[str],
               enterprise_id: uuid.UUID | None = None) -> RiskDecision:
    """The class the rules of 设置 give an enterprise with these hazard areas (and, once it
    exists, its inspections' findings) — for the register form, before it is saved."""
    found = register_facts(session, enterprise_id).get(enterprise_id) if enterprise_id else None
    facts = replace(found, areas=areas) if found else RiskFacts(areas=areas)
    return decide(load_rules(session).risk, facts, today_of(session))


def load_rules(session: Session) -> PlanRules:
    row = session.scalar(select(PlanningSettings))
    return PlanRules.from_json(row.rules_json) if row and row.rules_json else PlanRules()


def save_rules(session: Session, rules: PlanRules) -> None:
    # The office's rules only: a laptop's copy would travel to the office as a second one.
    require_office(session, "计划规则和分类分级规则由办公室制定，本机只能查看",
                   "请在办公室的电脑上（设置 → 计划规则、分类分级）修改；本机随下次同步收到")
    rules.check()
    row = session.scalar(select(PlanningSettings)) or PlanningSettings()
    row.rules_json = rules.to_json()
    session.add(row)


# ---- the plan -------------------------------------------------------------------------------

def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The plan year as UTC instants, its days counted on the laptop's clock like deadlines."""
    return datetime(year, 1, 1).astimezone(), datetime(year + 1, 1, 1).astimezone()


def round_months(rnd: int, rounds: int) -> tuple[int, int]:
    span = 12 // rounds
    return (rnd - 1) * span + 1, rnd * span


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _class_totals(session: Session, rules: PlanRules) -> dict[str, tuple[int, int]]:
    """Per class: (enterprises in the register, inspections the plan draws)."""
    counts = dict(session.execute(select(Enterprise.risk_colour, func.count())
                                  .group_by(Enterprise.risk_colour)).all())
    totals = {}
    for colour in COLOURS:
        n = counts.get(RiskColour(colour), 0)
        r = rules.classes[colour]
        totals[colour] = (n, min(math.ceil(r.share * n - 1e-9) * r.per_year, n * r.cap))
    return totals


def require_plan_office(session: Session) -> None:
    """Plans, draws and the teams of 重点检查 tasks are the office's: refused on a laptop."""
    require_office(session, "执法计划由办公室编制、抽取和指派，本机是执法电脑",
                   "请在办公室的电脑上办理；本机在「待检任务」中接收任务")


def create_plan(session: Session, year: int, focus_ids: list[uuid.UUID] = ()) -> InspectionPlan:
    require_plan_office(session)
    if session.scalar(select(InspectionPlan.id).where(InspectionPlan.year == year)):
        raise ValidationError(f"{year} 年的执法计划已存在", hint="请用 plan show 查看，或另选年份")
    rules = load_rules(session)
    focus = list(dict.fromkeys(focus_ids))
    for fid in focus:
        if session.get(Enterprise, fid) is None:
            raise NotFoundError(f"重点检查企业不存在：{fid}", "请核对企业编号（企业台账）")
    # 分类分级 first: every enterprise that follows the rules gets the class they give today.
    apply_classes(session, rules.risk, today_of(session))
    totals = _class_totals(session, rules)
    drawn = sum(t for _, t in totals.values())
    planned = drawn + len(focus)
    if planned == 0:
        raise ValidationError("企业台账为空，无法编制计划", hint="请先在企业台账中录入企业")
    if drawn / planned < rules.draw_share_min:
        raise ValidationError(
            f"双随机抽查只占计划的 {drawn / planned:.0%}，低于规定的 {rules.draw_share_min:.0%}",
            hint="请减少重点检查企业，或在 设置 → 计划规则 中调整抽取比例")
    quotas = {str(r + 1): {} for r in range(rules.rounds)}
    for colour, (_, total) in totals.items():
        for r, q in enumerate(_split(total, rules.rounds)):
            quotas[str(r + 1)][colour] = q
    plan = InspectionPlan(year=year, rules_json=rules.to_json(),
                          focus_json=canonical([str(f) for f in focus]),
                          quotas_json=canonical(quotas),
                          summary_json=canonical(_month_summary(quotas, len(focus), rules)))
    session.add(plan)
    session.flush()
    for i, fid in enumerate(focus):
        month = 1 + i * 12 // len(focus)
        session.add(PlanTask(plan_id=plan.id, enterprise_id=fid, inspector_ids="[]", kind="focus",
                             first_month=month, due_month=12))
    session.flush()
    return plan


def _month_summary(quotas: dict, focus: int, rules: PlanRules) -> list[dict]:
    per_month = [0] * 12
    for rnd, by_class in quotas.items():
        first, last = round_months(int(rnd), rules.rounds)
        for m, n in zip(range(first, last + 1), _split(sum(by_class.values()), last - first + 1)):
            per_month[m - 1] += n
    for m, n in enumerate(_split(focus, 12)):
        per_month[m] += n
    return [{"month": m + 1, "inspections": n,
             "teams": math.ceil(n / rules.inspections_per_team_month)}
            for m, n in enumerate(per_month)]


def get_plan(session: Session, plan_id: uuid.UUID) -> InspectionPlan:
    plan = session.get(InspectionPlan, plan_id)
    if plan is None:
        raise NotFoundError("找不到该执法计划", "请用 plan list 查看计划编号")
    return plan


# ---- the draw -------------------------------------------------------------------------------

def active_draws(session: Session, plan_id: uuid.UUID) -> list[PlanDraw]:
    draws = session.scalars(select(PlanDraw).where(PlanDraw.plan_id == plan_id)
                            .order_by(PlanDraw.drawn_at, PlanDraw.id)).all()
    replaced = {d.replaces_id for d in draws if d.replaces_id}
    return [d for d in draws if d.id not in replaced]


def _times_this_year(session: Session, plan: InspectionPlan, skip_draw: uuid.UUID | None) -> dict:
    times: dict[str, int] = {}
    tasks = session.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id,
                                                   PlanTask.cancelled.is_(False))).all()
    for t in tasks:
        if skip_draw is None or t.draw_id != skip_draw:
            times[str(t.enterprise_id)] = times.get(str(t.enterprise_id), 0) + 1
    start, end = year_bounds(plan.year)
    untasked = session.execute(
        select(Inspection.enterprise_id, func.count()).where(
            Inspection.status == InspectionStatus.FINALIZED, Inspection.task_id.is_(None),
            Inspection.kind == InspectionKind.INSPECTION, Inspection.started_at >= start,
            Inspection.started_at < end)
        .group_by(Inspection.enterprise_id)).all()
    for eid, n in untasked:
        times[str(eid)] = times.get(str(eid), 0) + n
    return times


def _previous_teams(session: Session) -> dict[str, list[str]]:
    """Each enterprise's latest team: a finalized inspection's or a drawn task's, the later."""
    latest: dict[str, tuple[datetime, list[str]]] = {}
    rows = session.execute(
        select(Inspection.enterprise_id, Inspection.started_at, InspectionInspector.inspector_id)
        .join(InspectionInspector, InspectionInspector.inspection_id == Inspection.id)
        .where(Inspection.status == InspectionStatus.FINALIZED)).all()
    teams: dict[tuple, list[str]] = {}
    for eid, at, pid in rows:
        teams.setdefault((str(eid), at), []).append(str(pid))
    for (eid, at), team in teams.items():
        if eid not in latest or at > latest[eid][0]:
            latest[eid] = (at, sorted(team))
    drawn = session.execute(select(PlanTask.enterprise_id, PlanDraw.drawn_at, PlanTask.inspector_ids)
                            .join(PlanDraw, PlanDraw.id == PlanTask.draw_id)
                            .where(PlanTask.cancelled.is_(False))).all()
    for eid, at, ids in drawn:
        if str(eid) not in latest or at > latest[str(eid)][0]:
            latest[str(eid)] = (at, sorted(json.loads(ids)))
    return {eid: team for eid, (_, team) in sorted(latest.items())}


def _inspector_entries(session: Session) -> list[dict]:
    return [{"id": str(p.id), "available": bool(p.active and p.available)}
            for p in session.scalars(select(Inspector))]


def _avoidance_entries(session: Session) -> list[dict]:
    return [{"inspector_id": str(a.inspector_id),
             "enterprise_id": str(a.enterprise_id) if a.enterprise_id else "",
             "township": a.township or "", "reason": a.reason}
            for a in session.scalars(select(InspectorAvoidance))]


def draw_inputs(session: Session, plan: InspectionPlan, rnd: int, seed: str,
                skip_draw: uuid.UUID | None = None) -> dict:
    """Everything the draw reads, as plain sorted lists: what gets recorded and replayed."""
    rules = PlanRules.from_json(plan.rules_json)
    times = _times_this_year(session, plan, skip_draw)
    enterprises = [{"id": str(e.id), "risk": e.risk_colour.value, "township": e.township or "",
                    "cap": rules.classes[e.risk_colour.value].cap,
                    "times_this_year": times.get(str(e.id), 0)}
                   for e in session.scalars(select(Enterprise))]
    inspectors, avoidances = _inspector_entries(session), _avoidance_entries(session)
    first, due = round_months(rnd, rules.rounds)
    return {
        "algorithm": ALGORITHM, "plan_id": str(plan.id), "year": plan.year, "round": rnd,
        "seed": seed, "quotas": json.loads(plan.quotas_json)[str(rnd)],
        "team_size": rules.team_size, "first_month": first, "due_month": due,
        "enterprises": sorted(enterprises, key=lambda e: e["id"]),
        "inspectors": sorted(inspectors, key=lambda p: p["id"]),
        "avoidances": sorted(avoidances, key=lambda a: (a["inspector_id"], a["enterprise_id"],
                                                        a["township"], a["reason"])),
        "previous_teams": _previous_teams(session),
    }


def _next_round(session: Session, plan: InspectionPlan) -> int:
    rules = PlanRules.from_json(plan.rules_json)
    done = {d.round for d in active_draws(session, plan.id)}
    for rnd in range(1, rules.rounds + 1):
        if rnd not in done:
            return rnd
    raise ValidationError(f"{plan.year} 年计划的 {rules.rounds} 轮抽取均已完成",
                          hint="如需重抽某一轮，请指定 --redraw 原抽取编号 并说明理由")


def draw_round(session: Session, plan_id: uuid.UUID, seed: str, *, rnd: int | None = None,
               redraw_of: uuid.UUID | None = None, reason: str = "", actor: str = "") -> PlanDraw:
    """Draw a round of the plan; a redraw is a new draw that names the old one and why."""
    require_plan_office(session)
    plan = get_plan(session, plan_id)
    seed = seed.strip()
    if not seed:
        raise ValidationError("随机种子不能为空", hint="请输入现场公开确定的种子，或使用系统生成的种子")
    old = None
    if redraw_of is not None:
        old = session.get(PlanDraw, redraw_of)
        if old is None or old.plan_id != plan.id:
            raise NotFoundError("要重抽的抽取记录不存在", "请用 plan show 查看抽取编号")
        if old.id not in {d.id for d in active_draws(session, plan.id)}:
            raise ValidationError("该抽取已被重抽取代", hint="请指定最新一次抽取的编号")
        if not reason.strip():
            raise ValidationError("重新抽取必须说明理由", hint="请用 --reason 写明理由")
        rnd = old.round
    elif rnd is None:
        rnd = _next_round(session, plan)
    elif rnd in {d.round for d in active_draws(session, plan.id)}:
        raise ValidationError(f"第 {rnd} 轮已经抽取，不能再次抽取",
                              hint="如需重抽，请用 --redraw 原抽取编号 --reason 理由（原抽取保留）")
    # The classes as the rules of 设置 give them today (a major hazard found since counts),
    # the same the register shows; the draw's inputs record the class each firm had.
    apply_classes(session, load_rules(session).risk, today_of(session))
    inputs = draw_inputs(session, plan, rnd, seed, skip_draw=old.id if old else None)
    tasks, exclusions = run_draw(inputs)
    draw = PlanDraw(plan_id=plan.id, round=rnd, seed=seed, algorithm=ALGORITHM,
                    drawn_at=session_now(session), drawn_by=actor, reason=reason.strip(),
                    replaces_id=old.id if old else None, inputs_json=canonical(inputs),
                    inputs_hash=digest(inputs), enterprises_hash=digest(inputs["enterprises"]),
                    inspectors_hash=digest(inputs["inspectors"]),
                    exclusions_json=canonical(exclusions), result_json=canonical(tasks),
                    result_hash=digest(tasks))
    session.add(draw)
    if old is not None:
        for t in session.scalars(select(PlanTask).where(PlanTask.draw_id == old.id)):
            t.cancelled = True
    session.flush()
    for t in tasks:
        session.add(PlanTask(plan_id=plan.id, draw_id=draw.id, enterprise_id=uuid.UUID(t["enterprise_id"]),
                             inspector_ids=canonical(t["inspector_ids"]), kind="draw",
                             first_month=t["first_month"], due_month=t["due_month"]))
    session.flush()
    return draw


# ---- replay ---------------------------------------------------------------------------------

def _task_key(t: dict) -> str:
    return canonical([t["enterprise_id"], t["inspector_ids"], t["first_month"], t["due_month"]])


def _draw_problems(session: Session, draw: PlanDraw) -> list[str]:
    name = f"第 {draw.round} 轮抽取（{draw.id}）"
    try:
        inputs = json.loads(draw.inputs_json)
        recorded = json.loads(draw.result_json)
        recorded_exclusions = json.loads(draw.exclusions_json)
    except ValueError:
        return [f"{name}的记录无法读取"]
    problems = []
    if digest(inputs) != draw.inputs_hash:
        problems.append(f"{name}的名录与记录的摘要不符（名录被改动）")
    if (digest(inputs.get("enterprises")) != draw.enterprises_hash
            or digest(inputs.get("inspectors")) != draw.inspectors_hash):
        problems.append(f"{name}的企业名录或执法人员名录与记录的摘要不符")
    if inputs.get("seed") != draw.seed or inputs.get("round") != draw.round:
        problems.append(f"{name}的种子或轮次与记录不符")
    if digest(recorded) != draw.result_hash:
        problems.append(f"{name}的抽取结果与记录的摘要不符（结果被改动）")
    replayed, exclusions = run_draw(inputs)
    if canonical(replayed) != canonical(recorded):
        gone = sorted({_task_key(t) for t in recorded} - {_task_key(t) for t in replayed})
        extra = sorted({_task_key(t) for t in replayed} - {_task_key(t) for t in recorded})
        problems.append(f"{name}重放结果与记录不同：记录中多出 {gone or '无'}，重放得到 {extra or '无'}")
    if canonical(exclusions) != canonical(recorded_exclusions):
        problems.append(f"{name}重放的排除名单与记录不同")
    stored = sorted(_task_key({"enterprise_id": str(t.enterprise_id),
                               "inspector_ids": json.loads(t.inspector_ids),
                               "first_month": t.first_month, "due_month": t.due_month})
                    for t in session.scalars(select(PlanTask).where(PlanTask.draw_id == draw.id)))
    if stored != sorted(_task_key(t) for t in recorded):
        problems.append(f"{name}的待检任务与抽取结果不一致（任务被增删或改动）")
    problems += _audit_problems(session, draw, name)
    return problems


def _audit_problems(session: Session, draw: PlanDraw, name: str) -> list[str]:
    """The draw row as it was written, from its create event in the 执法全过程记录."""
    ev = session.scalar(select(AuditEvent).where(AuditEvent.entity_type == PlanDraw.__tablename__,
                                                 AuditEvent.entity_id == str(draw.id),
                                                 AuditEvent.action == "create"))
    if ev is None:
        return [f"{name}在执法全过程记录中没有记载"]
    after = json.loads(ev.after)
    for col in ("seed", "inputs_json", "result_json", "exclusions_json", "inputs_hash", "result_hash"):
        if after.get(col) != getattr(draw, col):
            return [f"{name}与执法全过程记录中的原始记载不符（{col} 被改动）"]
    return []


def verify_plan(session: Session, plan_id: uuid.UUID) -> list[str]:
    """Replay every draw of the plan (replaced ones too); the differences, empty when identical."""
    plan = get_plan(session, plan_id)
    problems = []
    for draw in session.scalars(select(PlanDraw).where(PlanDraw.plan_id == plan.id)
                                .order_by(PlanDraw.drawn_at, PlanDraw.id)):
        problems += _draw_problems(session, draw)
    return problems


# ---- progress -------------------------------------------------------------------------------

def _month_end(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1)


def task_inspections(session: Session, plan: InspectionPlan) -> dict[uuid.UUID, Inspection]:
    """Each task's finalized inspection: started from the task, else the enterprise's next one."""
    tasks = session.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id,
                                                   PlanTask.cancelled.is_(False))
                            .order_by(PlanTask.due_month, PlanTask.id)).all()
    done = {}
    year_start, year_end = year_bounds(plan.year)
    finals = session.scalars(select(Inspection).where(
        Inspection.status == InspectionStatus.FINALIZED, Inspection.kind == InspectionKind.INSPECTION,
        Inspection.started_at >= year_start, Inspection.started_at < year_end)
        .order_by(Inspection.started_at)).all()
    used = set()
    for t in tasks:
        for i in finals:
            if i.task_id == t.id:
                done[t.id], _ = i, used.add(i.id)
    for t in tasks:
        if t.id in done:
            continue
        for i in finals:  # the firm's next inspection after the task was given, not an earlier one
            if (i.id not in used and i.task_id is None and i.enterprise_id == t.enterprise_id
                    and i.started_at >= t.created_at):
                done[t.id], _ = i, used.add(i.id)
                break
    return done


def plan_progress(session: Session, plan_id: uuid.UUID, today: date) -> dict:
    """Done / due / overdue, by risk class and by area."""
    plan = get_plan(session, plan_id)
    done = task_inspections(session, plan)
    blank = lambda: {"done": 0, "due": 0, "overdue": 0}  # noqa: E731
    by_class = {c: blank() for c in COLOURS}
    by_area = {a: blank() for a in AREA_FLAGS}
    total = blank()
    for t in session.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id,
                                                    PlanTask.cancelled.is_(False))):
        e = session.get(Enterprise, t.enterprise_id)
        state = ("done" if t.id in done
                 else "overdue" if today >= _month_end(plan.year, t.due_month) else "due")
        total[state] += 1
        by_class[e.risk_colour.value][state] += 1
        for area, flag in AREA_FLAGS.items():
            if getattr(e, flag):
                by_area[area][state] += 1
    return {"total": total, "by_class": by_class, "by_area": by_area}


# ---- the laptop's 待检任务 -------------------------------------------------------------------

@dataclass(frozen=True)
class OpenTask:
    id: uuid.UUID
    enterprise_id: uuid.UUID
    enterprise: str
    year: int
    first_month: int
    due_month: int
    inspector_ids: list[uuid.UUID]
    team: list[str]
    kind: str
    overdue: bool


def open_tasks(session: Session, today: date, inspector_ids: set[uuid.UUID] | None = None) -> list[OpenTask]:
    """Tasks not yet carried out (no inspection started from them), soonest due first;
    only those of the given inspectors when `inspector_ids` is given."""
    started = set(session.scalars(select(Inspection.task_id).where(Inspection.task_id.is_not(None))))
    rows = session.execute(select(PlanTask, InspectionPlan.year, Enterprise.name)
                           .join(InspectionPlan, InspectionPlan.id == PlanTask.plan_id)
                           .join(Enterprise, Enterprise.id == PlanTask.enterprise_id)
                           .where(PlanTask.cancelled.is_(False))).all()
    names = {p.id: p.name for p in session.scalars(select(Inspector))}
    out = []
    for task, year, name in rows:
        if task.id in started:
            continue
        team = [uuid.UUID(i) for i in json.loads(task.inspector_ids)]
        if inspector_ids is not None and not set(team) & inspector_ids:
            continue
        out.append(OpenTask(id=task.id, enterprise_id=task.enterprise_id, enterprise=name,
                            year=year, first_month=task.first_month, due_month=task.due_month,
                            inspector_ids=team, team=[names.get(i, "？") for i in team],
                            kind=task.kind, overdue=today >= _month_end(year, task.due_month)))
    return sorted(out, key=lambda t: (t.year, t.due_month, t.enterprise))


# ---- 重点检查: a team assigned by hand ------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    id: uuid.UUID
    name: str
    certificate_no: str
    bar: str | None   # why they may not inspect this enterprise (不在岗, 回避), None if they may


def _focus_task(session: Session, task_id: uuid.UUID) -> PlanTask:
    task = session.get(PlanTask, task_id)
    if task is None or task.cancelled:
        raise NotFoundError("找不到该待检任务（或已被取消）", "请用 plan show 计划编号 查看任务编号")
    if task.kind != "focus":
        raise ValidationError("双随机抽查任务的执法人员由抽取确定，不能手工指派",
                              hint="如需更换，请重抽该轮并说明理由（原抽取保留）")
    if session.scalar(select(Inspection.id).where(Inspection.task_id == task.id)) is not None:
        raise ValidationError("该任务已开始检查，不能再更换执法人员",
                              hint="检查组以已开始的检查为准")
    return task


def team_candidates(session: Session, task_id: uuid.UUID) -> list[Candidate]:
    """Every inspector for a 重点检查 task, each with why they may not go (same rule as the draw)."""
    task = _focus_task(session, task_id)
    firm = session.get(Enterprise, task.enterprise_id)
    enterprise = {"id": str(firm.id), "township": firm.township or ""}
    avoidances = _avoidance_entries(session)
    entries = {e["id"]: e for e in _inspector_entries(session)}
    people = session.scalars(select(Inspector).order_by(Inspector.active.desc(), Inspector.name))
    return [Candidate(p.id, p.name, p.certificate_no,
                      inspector_bar(entries[str(p.id)], enterprise, avoidances)) for p in people]


def assign_team(session: Session, task_id: uuid.UUID, inspector_ids: list[uuid.UUID]) -> PlanTask:
    """The office assigns the team of a 重点检查 task: at least the plan's team size of distinct
    inspectors, none 不在岗 or under 回避. The change is an update of the task (its before and
    after in the audit chain) and travels to the laptops with the next bundle."""
    require_plan_office(session)
    task = _focus_task(session, task_id)
    plan = session.get(InspectionPlan, task.plan_id)
    size = PlanRules.from_json(plan.rules_json).team_size
    team = list(dict.fromkeys(inspector_ids))
    problems = []
    if len(team) < size:
        problems.append(f"每次检查至少 {size} 名不同的执法人员（现选 {len(team)} 名）")
    bars = {c.id: c for c in team_candidates(session, task_id)}
    for pid in team:
        c = bars.get(pid)
        if c is None:
            problems.append(f"执法人员不存在：{pid}")
        elif c.bar:
            problems.append(f"{c.name}：{c.bar}")
    if problems:
        raise ValidationError("指派的检查组不符合规定", problems, "请另选执法人员")
    ids = canonical([str(p) for p in team])
    if task.inspector_ids != ids:
        task.inspector_ids = ids
        session.flush()
    return task


def focus_tasks(session: Session, plan_id: uuid.UUID) -> list[dict]:
    """The plan's 重点检查 tasks with their teams (empty until assigned), by due month."""
    names = {p.id: p.name for p in session.scalars(select(Inspector))}
    rows = session.execute(select(PlanTask, Enterprise.name)
                           .join(Enterprise, Enterprise.id == PlanTask.enterprise_id)
                           .where(PlanTask.plan_id == plan_id, PlanTask.kind == "focus",
                                  PlanTask.cancelled.is_(False))
                           .order_by(PlanTask.first_month, Enterprise.name)).all()
    out = []
    for task, firm in rows:
        team = json.loads(task.inspector_ids)
        out.append({"task_id": str(task.id), "enterprise_id": str(task.enterprise_id),
                    "enterprise": firm, "first_month": task.first_month,
                    "due_month": task.due_month, "inspector_ids": team,
                    "team": [names.get(uuid.UUID(i), "？") for i in team]})
    return out
