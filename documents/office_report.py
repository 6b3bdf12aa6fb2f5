"""The office's 通报 of a period's major hazards as a PDF, ready to send (A4 landscape, the
document font embedded). The rows come from models.office_views, the same as the Excel."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from documents.fonts import document_fonts
from models.errors import FieldCheckError

from models.ledger import LedgerFilter
from models.assignment_rules import ASSIGNMENT_OVERDUE
from models.office_views import (COL_ASSIGNMENT_STATE, COL_OVERDUE_DAYS, REPORT_COLUMNS,
                                 agency_name, major_hazards, office_statistics, report_rows, report_summary,
                                 write_major_report_xlsx)

# The Excel's columns minus the basis and the order's number (273 mm between the margins).
PDF_COLUMNS = (0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13)
WIDTHS = (8, 34, 18, 52, 20, 20, 14, 12, 24, 20, 13, 16, 20)
RED = colors.HexColor("#b71c1c")


def write_major_report_pdf(session, out: Path, today: date, found_from: date, found_to: date,
                           agency: str = "") -> int:
    rl_config.useA85 = 0
    fonts = document_fonts()
    title = ParagraphStyle("t", fontName=fonts.title, fontSize=16, leading=22, alignment=1)
    body = ParagraphStyle("b", fontName=fonts.body, fontSize=8.5, leading=11, wordWrap="CJK")
    head = ParagraphStyle("h", parent=body, fontSize=9)
    rows = report_rows(session, major_hazards(session, today, found_from, found_to))
    overdue, late_assigned = report_summary(rows)
    late = ParagraphStyle("late", parent=body, textColor=RED)  # a cell's Paragraph has its own colour

    def cell(row, i):
        red = (i == COL_OVERDUE_DAYS and row[i]) or (
            i == COL_ASSIGNMENT_STATE and row[i] == ASSIGNMENT_OVERDUE)
        return Paragraph(_text(row[i]), late if red else body)

    cells = [[Paragraph(REPORT_COLUMNS[i], head) for i in PDF_COLUMNS]]
    cells += [[cell(row, i) for i in PDF_COLUMNS] for row in rows]
    style = [("FONTNAME", (0, 0), (-1, -1), fonts.body),
             ("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee"))]
    story = [Paragraph(f"{agency}重大事故隐患通报", title), Spacer(1, 3 * mm),
             Paragraph(f"{found_from:%Y年%m月%d日}至{found_to:%Y年%m月%d日}，共排查出重大事故隐患 "
                       f"{len(rows)} 项，其中逾期未整改 {overdue} 项，逾期未完成交办 {late_assigned} 项"
                       f"（统计日期 {today:%Y年%m月%d日}）。",
                       ParagraphStyle("s", parent=body, fontSize=10.5, leading=15)),
             Spacer(1, 3 * mm),
             Table(cells, colWidths=[w * mm for w in WIDTHS], repeatRows=1, style=TableStyle(style))]
    try:
        SimpleDocTemplate(str(out), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                          topMargin=14 * mm, bottomMargin=14 * mm, title="重大事故隐患通报",
                          invariant=1, initialFontName=fonts.body).build(story)
    except OSError as exc:
        raise FieldCheckError(f"无法写入 {out}（{exc.strerror or exc}）", "请检查文件夹是否可写") from exc
    return len(rows)


def _text(value) -> str:
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    return (str(value) if value not in (None, "") else "").replace("&", "&amp;").replace("<", "&lt;")


# The `office-report` command: here, not in models/, because it renders (models knows no
# documents/).
def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldCheckError(f"日期格式不对：{text}", "请写成 YYYY-MM-DD，例如 2026-11-01") from None


def run_office_report(store, out_dir, found_from: str, found_to: str, today: date) -> dict:
    """`office-report`: the period's 通报 (Excel and PDF) and the statistics, as a summary."""
    start, end = _day(found_from), _day(found_to)
    if end < start:
        raise FieldCheckError("结束日期早于开始日期", "请检查 --from 和 --to")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"重大事故隐患通报_{start:%Y%m%d}-{end:%Y%m%d}"
    with store.session() as s:
        agency = agency_name(s)
        n = write_major_report_xlsx(s, out / f"{stem}.xlsx", today, start, end, agency)
        write_major_report_pdf(s, out / f"{stem}.pdf", today, start, end, agency)
        stats = office_statistics(s, today, LedgerFilter(found_from=start, found_to=end))
    return {"major_hazards": n, "xlsx": str(out / f"{stem}.xlsx"), "pdf": str(out / f"{stem}.pdf"),
            "statistics": {k: [vars(t) for t in v] for k, v in stats.items()}}
