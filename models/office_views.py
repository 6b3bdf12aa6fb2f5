"""The office's own views across every laptop: statistics by team, township, area, risk colour
and month; the major hazards with overdue ones first; the period's 通报 (Excel here, the PDF in
documents.office_report). Pure queries over the ledger (models.ledger), `today` a parameter.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import ColumnElement, String, and_, case, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased

from models.assignment import HazardAssignment
from models.inspection import Hazard, HazardStatus, InspectionInspector
from models.excel_ledger import keep_text, save_workbook
from models.ledger import (_HAZARD_COLUMNS, DUE_ON, STILL_OPEN, LedgerFilter, LedgerRow, _base,
                           _filtered, _region_short, _rows, due_days_setting)
from models.registry import Enterprise, Inspector, RiskColour

NO_TOWNSHIP = "（未填乡镇/街道）"


class LocalMonth(ColumnElement[str]):
    """"YYYY-MM" of a UTC time column on the local clock (China has one fixed offset)."""

    type = String()
    inherit_cache = True

    def __init__(self, column) -> None:
        self.column = column


def _offset_hours() -> int:
    offset = datetime.now().astimezone().utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0


@compiles(LocalMonth)
def _month_pg(element: LocalMonth, compiler, **kw) -> str:
    col = compiler.process(element.column, **kw)
    return f"to_char({col} + interval '{_offset_hours()} hours', 'YYYY-MM')"


@compiles(LocalMonth, "sqlite")
def _month_sqlite(element: LocalMonth, compiler, **kw) -> str:
    col = compiler.process(element.column, **kw)
    return f"strftime('%Y-%m', {col}, '{_offset_hours():+d} hours')"


@dataclass(frozen=True)
class Tally:
    label: str
    hazards: int
    major: int
    overdue: int


def _tallies(session: Session, key, flt: LedgerFilter, today: date, due_days: int) -> list[tuple]:
    n = func.count(Hazard.id)
    major = func.count(Hazard.id).filter(Hazard.is_major.is_(True))
    overdue = func.count(Hazard.id).filter(STILL_OPEN, DUE_ON < today)
    query = _base((key, n, major, overdue), flt, today, due_days).group_by(key)
    return list(session.execute(query))


def office_statistics(session: Session, today: date,
                      flt: LedgerFilter = LedgerFilter()) -> dict[str, list[Tally]]:
    """Hazard counts (all, major, overdue) by team, township, area, risk colour and month."""
    due_days = due_days_setting(session)
    out = {
        "township": [Tally(k or NO_TOWNSHIP, *v) for k, *v in
                     _tallies(session, Enterprise.township, flt, today, due_days)],
        "area": [Tally(_area_label(k), *v) for k, *v in _tallies(session, _area(), flt, today, due_days)],
        "risk_colour": [Tally(RiskColour(k).label if not isinstance(k, RiskColour) else k.label, *v)
                        for k, *v in _tallies(session, Enterprise.risk_colour, flt, today, due_days)],
        "month": [Tally(k, *v) for k, *v in
                  _tallies(session, LocalMonth(Hazard.found_at), flt, today, due_days)],
    }
    # The team of an inspection is its inspectors, in their order: counted per inspection in
    # SQL, named here (a handful of rows per inspection).
    per_inspection = _tallies(session, Hazard.inspection_id, flt, today, due_days)
    teams = _teams(session, [row[0] for row in per_inspection])
    by_team: dict[str, list[int]] = {}
    for inspection_id, *counts in per_inspection:
        acc = by_team.setdefault(teams.get(inspection_id, "（未知）"), [0, 0, 0])
        for i, c in enumerate(counts):
            acc[i] += c
    out["team"] = [Tally(k, *v) for k, v in by_team.items()]
    for key in out:
        out[key].sort(key=(lambda t: t.label) if key == "month" else (lambda t: (-t.hazards, t.label)))
    return out


def _area():
    from models.checklist import ChecklistItem
    return ChecklistItem.area


def _area_label(code: str) -> str:
    from models.checklist import AREAS
    return AREAS.get(code, code)


def _teams(session: Session, inspection_ids: list) -> dict:
    names: dict = {}
    for start in range(0, len(inspection_ids), 500):
        chunk = inspection_ids[start:start + 500]
        rows = session.execute(
            select(InspectionInspector.inspection_id, Inspector.name)
            .join(Inspector, Inspector.id == InspectionInspector.inspector_id)
            .where(InspectionInspector.inspection_id.in_(chunk))
            .order_by(InspectionInspector.inspection_id, InspectionInspector.position))
        for inspection_id, name in rows:
            names.setdefault(inspection_id, []).append(name)
    return {k: "、".join(v) for k, v in names.items()}


# 交办 in SQL, for ordering and counting a long list without building every row: the same
# rule as models.assignment_rules.assignment_state (which decides what each row shows); the
# tests check that the two agree. A hazard's 交办 in force is the one no other replaces.
def _office_deadlines():
    """hazard_id → the deadline of the 交办 in force, as a subquery to outer-join (one pass
    over the assignments, not one lookup per hazard)."""
    a, b = aliased(HazardAssignment), aliased(HazardAssignment)
    return (select(a.hazard_id, func.min(a.deadline).label("deadline"))
            .where(~exists().where(b.replaces_id == a.id))
            .group_by(a.hazard_id).subquery("office"))


def _with_office(query, office):
    return query.outerjoin(office, office.c.hazard_id == Hazard.id)


def _major_order(today: date, office):
    """Closed ones last; overdue either way first — past the order's deadline or the
    office's, the earlier of the two first (= the longest overdue); then by deadline."""
    earliest = case((office.c.deadline < DUE_ON, office.c.deadline), else_=DUE_ON)  # NULL: the order's
    overdue = and_(STILL_OPEN, earliest < today)
    return (case((Hazard.status == HazardStatus.CLOSED, 1), else_=0), case((overdue, 0), else_=1),
            case((overdue, earliest), else_=DUE_ON), Hazard.id)


def _major_filter(found_from, found_to, search) -> LedgerFilter:
    return LedgerFilter(major_only=True, found_from=found_from, found_to=found_to, search=search)


def major_hazards(session: Session, today: date, found_from: date | None = None,
                  found_to: date | None = None, search: str = "", *,
                  limit: int | None = None) -> list[LedgerRow]:
    """The major hazards of the period (matching `search`: enterprise name or address, item
    code, hazard text — models.search), overdue first (longest overdue on top), then by the
    deadline in force; closed ones last. `limit`: only the first ones (a screen)."""
    due_days = due_days_setting(session)
    office = _office_deadlines()
    query = (_with_office(_filtered(_HAZARD_COLUMNS, _major_filter(found_from, found_to, search),
                                    today, due_days), office)
             .order_by(*_major_order(today, office)))
    if limit is not None:
        query = query.limit(limit)
    return _rows(session, session.execute(query).all(), today, due_days, _region_short(session))


@dataclass(frozen=True)
class MajorSummary:
    total: int          # the period's major hazards
    overdue: int        # past the order's deadline, still to be rectified
    assignment_overdue: int  # past the office's 交办 deadline, still to be rectified
    not_assigned: int   # open and never assigned


def major_summary(session: Session, today: date, found_from: date | None = None,
                  found_to: date | None = None, search: str = "") -> MajorSummary:
    """The counts above the office's list, in one query."""
    office = _office_deadlines()
    n = func.count(Hazard.id)
    query = _with_office(_filtered(
        (n, n.filter(STILL_OPEN, DUE_ON < today), n.filter(STILL_OPEN, office.c.deadline < today),
         n.filter(Hazard.status != HazardStatus.CLOSED, office.c.deadline.is_(None))),
        _major_filter(found_from, found_to, search), today, due_days_setting(session)), office)
    return MajorSummary(*session.execute(query).one())


REPORT_COLUMNS = ("序号", "企业", "乡镇/街道", "隐患描述", "判定依据", "发现日期", "整改期限",
                  "状态", "逾期天数", "交办单位", "交办期限", "交办状态", "台账编号", "销号日期",
                  "责令整改指令书")
COL_OVERDUE_DAYS, COL_ASSIGNMENT_STATE = 8, 11


def agency_name(session: Session) -> str:
    """The agency's name as the 通报 heads it ("" before the settings are filled in)."""
    from models.settings_rules import stored_agency_settings
    settings = stored_agency_settings(session)
    return settings.agency_name if settings else ""


def townships(session: Session, rows: list[LedgerRow]) -> dict:
    """Enterprise id → its 乡镇/街道 ("" when not filled in), for the rows given."""
    ids, found = list({r.enterprise_id for r in rows}), {}
    for start in range(0, len(ids), 500):
        found.update(session.execute(select(Enterprise.id, Enterprise.township).where(
            Enterprise.id.in_(ids[start:start + 500]))).all())
    return found


def report_rows(session: Session, rows: list[LedgerRow]) -> list[list]:
    townships_of = townships(session, rows)
    return [[n, r.enterprise, townships_of.get(r.enterprise_id) or "", r.description, r.major_clause,
             r.found_on, r.deadline, r.status, r.days_overdue or "", r.assigned_to,
             r.assignment_deadline or "", r.assignment_state, r.ledger_no, r.closed_on or "",
             r.order_number] for n, r in enumerate(rows, 1)]


def report_summary(rows: list[list]) -> tuple[int, int]:
    """(hazards past the order's deadline, hazards past the office's 交办 deadline)."""
    from models.assignment_rules import ASSIGNMENT_OVERDUE
    return (sum(1 for r in rows if r[COL_OVERDUE_DAYS]),
            sum(1 for r in rows if r[COL_ASSIGNMENT_STATE] == ASSIGNMENT_OVERDUE))


def write_major_report_xlsx(session: Session, out: Path, today: date, found_from: date,
                            found_to: date, agency: str = "") -> int:
    """The 通报 of the period's major hazards as Excel; returns the number of hazards."""
    rows = report_rows(session, major_hazards(session, today, found_from, found_to))
    wb = Workbook()
    ws = wb.active
    ws.title = "重大事故隐患通报"
    ws.append([f"{agency}重大事故隐患通报（{found_from:%Y年%m月%d日}至{found_to:%Y年%m月%d日}）"])
    ws["A1"].font = Font(bold=True, size=14)
    late, late_assigned = report_summary(rows)
    ws.append([f"共 {len(rows)} 项，其中逾期未整改 {late} 项，逾期未完成交办 {late_assigned} 项；"
               f"统计日期 {today:%Y年%m月%d日}"])
    ws.append(list(REPORT_COLUMNS))
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    for col, width in zip("ABCDEFGHIJKLMNO",
                          (6, 28, 14, 40, 30, 12, 12, 10, 9, 18, 12, 10, 14, 12, 26)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            keep_text(cell)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    save_workbook(wb, Path(out))
    return len(rows)
