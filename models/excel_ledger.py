"""The hazard ledger as an Excel workbook (openpyxl, write-only: 100k rows in constant memory).

Sheets: 隐患台账 (every hazard), 重大隐患 (major hazards with their 一单四制 fields), 统计
(counts by status, area and enterprise, rectification rate, overdue, most frequent items).
Header rows are frozen and filtered; dates are real Excel dates. Opens in Excel and WPS.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from models.errors import FieldCheckError
from models.ledger import (LedgerFilter, LedgerRow, LedgerStats, due_days_setting, iter_ledger,
                           ledger_statistics)

DATE_FORMAT = "yyyy-mm-dd"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1565C0")
RED_FONT = Font(color="C62828", bold=True)

# (header, width, value of a row)
LEDGER_COLUMNS = (
    ("序号", 7, None),
    ("被检查单位", 30, lambda r: r.enterprise),
    ("领域", 12, lambda r: r.area),
    ("检查项", 10, lambda r: r.item_code),
    ("隐患描述", 50, lambda r: r.description),
    ("等级", 7, lambda r: r.level),
    ("重大隐患判定依据", 30, lambda r: r.major_clause),
    ("发现日期", 12, lambda r: r.found_on),
    ("整改期限", 12, lambda r: r.deadline),
    ("原定期限", 12, lambda r: r.ordered_deadline),
    ("状态", 11, lambda r: r.status),
    ("逾期天数", 9, lambda r: r.days_overdue or None),
    ("复查结论", 24, lambda r: r.outcome),
    ("整改指令书文号", 28, lambda r: r.order_number),
    ("销号日期", 12, lambda r: r.closed_on),
)
MAJOR_COLUMNS = LEDGER_COLUMNS + (
    ("交办单位/责任人", 20, lambda r: r.assigned_to),
    ("交办期限", 12, lambda r: r.assignment_deadline),
    ("交办状态", 10, lambda r: r.assignment_state),
    ("交办说明", 24, lambda r: r.assignment.note if r.assignment else ""),
    ("台账编号", 14, lambda r: r.ledger_no),
    ("通报日期", 12, lambda r: r.reported_on),
)
STATUS_COLUMN = [h for h, _w, _f in LEDGER_COLUMNS].index("状态")
# A text starting with one of these is what Excel/WPS would take for a formula when edited.
_FORMULA_START = ("=", "+", "-", "@")


def keep_text(cell):
    """Record text stays text, whatever its first character: openpyxl would store "=1+2"
    (or "=HYPERLINK(…)") as a live formula; quotePrefix keeps it text when edited."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    return cell


def text_cell(ws, text: str) -> WriteOnlyCell:
    """A write-only sheet's cell holding record text (see keep_text)."""
    return keep_text(WriteOnlyCell(ws, value=text))


def _cells(ws, values: list) -> list:
    return [text_cell(ws, v) if isinstance(v, str) else v for v in values]


def _header(ws, columns) -> None:
    for n, (_title, width, _f) in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A2"  # write-only sheets need this before the first row
    cells = []
    for title, _w, _f in columns:
        cell = WriteOnlyCell(ws, value=title)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cells.append(cell)
    ws.append(cells)


def _values(ws, row: LedgerRow, n: int, columns) -> list:
    values = _cells(ws, [n] + [f(row) for _h, _w, f in columns[1:]])
    if row.overdue:  # overdue in red, as on screen
        values[STATUS_COLUMN].font = RED_FONT
    return values


def _finish(ws, columns, rows: int) -> None:
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(rows, 1) + 1}"


def _title_cell(ws, text: str):
    cell = WriteOnlyCell(ws, value=text)
    cell.font = Font(bold=True, size=13)
    return cell


def _summary(ws, stats: LedgerStats, today: date) -> None:
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 12
    ws.append([_title_cell(ws, "隐患台账统计"), None])
    ws.append(["统计日期", today])
    ws.append(["隐患总数", stats.total])
    ws.append(["其中重大事故隐患", stats.major])
    ws.append(["已销号", stats.closed])
    rate = WriteOnlyCell(ws, value=stats.rectification_rate)
    rate.number_format = "0.0%"
    ws.append(["整改率（已销号/隐患总数）", rate])
    ws.append(["逾期未整改", stats.overdue])
    for title, pairs in (("按状态", list(stats.by_status.items())), ("按领域", stats.by_area),
                         ("按企业", stats.by_enterprise)):
        ws.append([])
        ws.append([_title_cell(ws, title), "隐患数"])
        for key, count in pairs:
            ws.append(_cells(ws, [key, count]))
    ws.append([])
    ws.append([_title_cell(ws, "最常见的不符合项"), "检查项内容", "隐患数"])
    for code, question, count in stats.top_items:
        ws.append(_cells(ws, [code, question, count]))


def export_ledger(session: Session, path: Path, today: date,
                  flt: LedgerFilter = LedgerFilter()) -> int:
    """Write the (filtered) ledger to `path`; returns the number of hazard rows."""
    due_days = due_days_setting(session)
    wb = Workbook(write_only=True)
    ledger, major = wb.create_sheet("隐患台账"), wb.create_sheet("重大隐患")
    _header(ledger, LEDGER_COLUMNS)
    _header(major, MAJOR_COLUMNS)
    n = m = 0
    for row in iter_ledger(session, flt, today, due_days=due_days):
        n += 1
        ledger.append(_values(ledger, row, n, LEDGER_COLUMNS))
        if row.is_major:
            m += 1
            major.append(_values(major, row, m, MAJOR_COLUMNS))
    _finish(ledger, LEDGER_COLUMNS, n)
    _finish(major, MAJOR_COLUMNS, m)
    _summary(wb.create_sheet("统计"), ledger_statistics(session, today, flt, due_days=due_days),
             today)
    save_workbook(wb, Path(path))
    return n


def save_workbook(wb: Workbook, path: Path) -> None:
    """Build the file in the temp folder (a write-only workbook cannot be saved twice), then
    copy it next to the target and rename: the target is never left half-written."""
    with tempfile.TemporaryDirectory() as folder:
        built = Path(folder) / "ledger.xlsx"
        wb.save(built)
        part = path.with_name(path.name + ".part")
        try:
            shutil.copyfile(built, part)
            part.replace(path)
        except OSError as exc:
            with contextlib.suppress(OSError):  # the folder may not even exist
                part.unlink(missing_ok=True)
            raise FieldCheckError(f"无法写入 Excel 文件 {path}（{exc.strerror or exc}）",
                                  "请确认该文件没有在 Excel/WPS 中打开，且文件夹存在、可写") from exc
