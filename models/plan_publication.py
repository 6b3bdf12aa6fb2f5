"""一公开: what a plan's draws and their results publish, and the Excel list of it.

Only what may be published: the draw's date, scope and method, and per inspected enterprise
its name, credit code, the date, the inspecting unit and the result summary. No phone numbers,
no certificate numbers, no personal names (of the enterprise's staff or of inspectors).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.excel_ledger import save_workbook, text_cell
from models.inspection import Hazard, HazardStatus
from models.plan_rules import active_draws, get_plan, task_inspections
from models.planning import PlanTask
from models.registry import AgencySettings, Enterprise


@dataclass(frozen=True)
class PublishedDraw:
    drawn_on: date
    round: int
    scope: str
    method: str


@dataclass(frozen=True)
class PublishedResult:
    enterprise: str
    credit_code: str
    inspected_on: date
    unit: str
    problems: int
    major: int
    rectification: str


@dataclass(frozen=True)
class Publication:
    title: str
    draws: list[PublishedDraw]
    results: list[PublishedResult]


def _rectification(hazards: list[Hazard]) -> str:
    if not hazards:
        return "未发现问题"
    open_ = sum(h.status not in (HazardStatus.CLOSED,) for h in hazards)
    return "已整改完毕" if open_ == 0 else f"整改中（{open_} 项未销号）"


def publication(session: Session, plan_id: uuid.UUID) -> Publication:
    plan = get_plan(session, plan_id)
    settings = session.scalar(select(AgencySettings))
    unit = (settings.agency_name if settings else "") or "应急管理局"
    draws = []
    for d in active_draws(session, plan.id):
        inputs = json.loads(d.inputs_json)
        available = sum(p["available"] for p in inputs["inspectors"])
        draws.append(PublishedDraw(
            drawn_on=d.drawn_at.astimezone().date(), round=d.round,
            scope=(f"检查对象名录库中的工贸企业 {len(inputs['enterprises'])} 家（按红、橙、黄、蓝"
                   f"风险等级分类抽取）；执法检查人员名录库中可抽取的执法人员 {available} 名"),
            method=(f"双随机：随机抽取检查对象、随机选派执法检查人员（算法 {d.algorithm}，"
                    f"随机种子 {d.seed}，名录摘要 {d.inputs_hash[:16]}）")))
    results = []
    done = task_inspections(session, plan)
    tasks = {t.id: t for t in session.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id))}
    for task_id, inspection in sorted(done.items(), key=lambda kv: kv[1].started_at):
        firm = session.get(Enterprise, tasks[task_id].enterprise_id)
        hazards = [h for h in session.scalars(select(Hazard).where(
            Hazard.inspection_id == inspection.id)) if h.status != HazardStatus.WITHDRAWN]
        results.append(PublishedResult(
            enterprise=firm.name, credit_code=firm.credit_code,
            inspected_on=inspection.started_at.astimezone().date(), unit=unit,
            problems=len(hazards), major=sum(h.is_major for h in hazards),
            rectification=_rectification(hazards)))
    return Publication(title=f"{unit}{plan.year}年度“双随机、一公开”抽查结果公示",
                       draws=draws, results=results)


RESULT_COLUMNS = (("序号", 7), ("被检查单位", 34), ("统一社会信用代码", 22), ("检查日期", 12),
                  ("检查单位", 24), ("问题数", 8), ("重大隐患数", 11), ("整改情况", 22))


def _text(ws, value: str, font: Font | None = None) -> WriteOnlyCell:
    cell = text_cell(ws, value)  # record text is text (models.excel_ledger)
    if font is not None:
        cell.font = font
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


def write_publication_xlsx(pub: Publication, out: Path) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("公示")
    for n, (_h, width) in enumerate(RESULT_COLUMNS, 1):
        ws.column_dimensions[get_column_letter(n)].width = width
    bold = Font(bold=True)
    ws.append([_text(ws, pub.title, Font(bold=True, size=14))])
    for d in pub.draws:
        ws.append([_text(ws, f"第 {d.round} 轮抽取：{d.drawn_on.isoformat()}", bold)])
        ws.append([_text(ws, f"抽查范围：{d.scope}")])
        ws.append([_text(ws, f"抽查方式：{d.method}")])
    ws.append([])
    ws.append([_text(ws, h, bold) for h, _w in RESULT_COLUMNS])
    for n, r in enumerate(pub.results, 1):
        date_cell = WriteOnlyCell(ws, value=r.inspected_on)
        date_cell.number_format = "yyyy-mm-dd"
        ws.append([n, _text(ws, r.enterprise), _text(ws, r.credit_code), date_cell,
                   _text(ws, r.unit), r.problems, r.major, _text(ws, r.rectification)])
    save_workbook(wb, Path(out))

