"""一公开 as a PDF: the publication list of a plan's draws and results (A4, fonts embedded)."""
from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from documents.fonts import document_fonts
from models.plan_publication import RESULT_COLUMNS, Publication


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    # Record text is text: escaped so a name like "<font …>" prints literally.
    return Paragraph(escape(text), style)


def publication_pdf(pub: Publication) -> bytes:
    fonts = document_fonts()
    body = ParagraphStyle("body", fontName=fonts.body, fontSize=10.5, leading=15, wordWrap="CJK")
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=12)
    title = ParagraphStyle("title", fontName=fonts.title, fontSize=16, leading=24,
                           alignment=TA_CENTER, spaceAfter=8, wordWrap="CJK")
    story = [_p(pub.title, title)]
    for d in pub.draws:
        story += [_p(f"第 {d.round} 轮抽取日期：{d.drawn_on.year}年{d.drawn_on.month}月{d.drawn_on.day}日", body),
                  _p(f"抽查范围：{d.scope}", body), _p(f"抽查方式：{d.method}", body),
                  Spacer(1, 4)]
    widths = [0.9, 4.2, 3.6, 2.1, 2.6, 1.1, 1.3, 2.0]  # 17.8 cm: the A4 text width
    rows = [[_p(h, cell) for h, _w in RESULT_COLUMNS]]
    for n, r in enumerate(pub.results, 1):
        rows.append([_p(str(n), cell), _p(r.enterprise, cell), _p(r.credit_code, cell),
                     _p(r.inspected_on.isoformat(), cell), _p(r.unit, cell),
                     _p(str(r.problems), cell), _p(str(r.major), cell), _p(r.rectification, cell)])
    if not pub.results:
        rows.append([_p("（尚无已完成的检查）", cell)] + [""] * (len(RESULT_COLUMNS) - 1))
    table = Table(rows, colWidths=[w * cm for w in widths], repeatRows=1)
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts.body),
                               ("SPAN", (0, 1), (-1, 1)) if not pub.results else ("NOSPLIT", (0, 0), (0, 0)),
                               ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E3F2FD"))]))
    story += [Spacer(1, 6), table]
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=1.6 * cm, rightMargin=1.6 * cm,
                      topMargin=2 * cm, bottomMargin=2 * cm, title=pub.title,
                      invariant=1, initialFontName=fonts.body).build(story)
    return out.getvalue()


def save_publication(pub: Publication, out) -> None:
    """Write the publication as .xlsx or .pdf, chosen by the file's suffix (CLI and GUI)."""
    from pathlib import Path

    from models.errors import FieldCheckError
    from models.paths import atomic_write_bytes
    from models.plan_publication import write_publication_xlsx
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise FieldCheckError(f"不支持的公示文件类型：{out.name}", "请以 .xlsx 或 .pdf 结尾")
    if suffix == ".xlsx":
        write_publication_xlsx(pub, out)
        return
    try:
        atomic_write_bytes(out, publication_pdf(pub))
    except OSError as exc:
        raise FieldCheckError(f"无法写入文件：{out}（{exc.strerror or exc}）",
                              "请检查文件夹是否存在、可写且有足够空间") from exc
