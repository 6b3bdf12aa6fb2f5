"""现场检查记录: who was inspected, when and where, by whom, and the finding of every item."""
from __future__ import annotations

from collections import Counter

from reportlab.lib import colors
from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

from documents.content import CaseContent
from documents.fonts import FontSet, document_fonts
from documents.layout import (TEXT_W, Styles, build_case_pdf, cn_clock, cn_date, fill, para,
                              styles, wording)
from documents.photo_annex import annex_story
from documents.signature_block import closing, officer_lines, party_lines
from models.documents import DocumentKind

FIELD_COLS = [4.9 * cm, 2.3 * cm, 1.5 * cm, 2.3 * cm, 2.3 * cm]
ITEM_COLS = [1.9 * cm, 8.4 * cm, 2.0 * cm]
GRID = colors.Color(0.35, 0.35, 0.35)
SHADE = colors.Color(0.92, 0.92, 0.92)


def _time_range(content: CaseContent, words: dict) -> str:
    start, end = content.started_at, content.ended_at
    end_text = (cn_date(end) if end.year != start.year else f"{end.month}月{end.day}日")
    return words["time_range"].format(start=cn_date(start) + cn_clock(start),
                                      end=end_text + cn_clock(end))


def _field_table(content: CaseContent, st: Styles, words: dict) -> Table:
    e = content.enterprise
    rows = [
        [words["enterprise"], e.name], [words["credit_code"], e.credit_code],
        [words["address"], e.address],
        [words["representative"], e.representative, words["post"], e.post, words["phone"], e.phone],
        [words["place"], content.place], [words["time"], _time_range(content, words)],
    ]
    cells = [[para(text, st.plain) for text in row] for row in rows]
    widths = FIELD_COLS + [TEXT_W - sum(FIELD_COLS)]
    style = [("FONTNAME", (0, 0), (-1, -1), st.plain.fontName),
             ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
             ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 2),
             ("LINEBELOW", (1, 3), (1, 3), 0.5, GRID), ("LINEBELOW", (3, 3), (3, 3), 0.5, GRID),
             ("LINEBELOW", (5, 3), (5, 3), 0.5, GRID)]
    for row in (0, 1, 2, 4, 5):
        style += [("SPAN", (1, row), (-1, row)), ("LINEBELOW", (1, row), (-1, row), 0.5, GRID)]
    return Table(cells, colWidths=widths, style=TableStyle(style), hAlign="LEFT")


def _statement(content: CaseContent, st: Styles, words: dict):
    names = "、".join(o.name for o in content.officers)
    certs = "、".join(o.certificate_no for o in content.officers)
    text = fill(words["statement"], agency=content.agency.name, names=names, certificates=certs)
    return para(text, st.body)


def _item_rows(content: CaseContent, st: Styles, words: dict) -> tuple[list, list]:
    major = {h.code for h in content.major_hazards}
    head = [words["col_code"], words["col_question"], words["col_result"], words["col_note"]]
    rows, style, current = [[para(t, st.cell_centre) for t in head]], [], None
    for item in content.items:
        if item.checklist_title != current:
            current = item.checklist_title
            style += [("SPAN", (0, len(rows)), (-1, len(rows))),
                      ("BACKGROUND", (0, len(rows)), (-1, len(rows)), SHADE)]
            rows.append([para(current, st.cell), "", "", ""])
        note = (words["major_note"] if item.code in major else "") + item.note
        rows.append([para(item.code, st.cell_centre), para(item.question, st.cell),
                     para(item.result_label, st.cell_centre), para(note, st.cell)])
    return rows, style


def _item_table(content: CaseContent, st: Styles, words: dict) -> Table:
    rows, extra = _item_rows(content, st, words)
    widths = ITEM_COLS + [TEXT_W - sum(ITEM_COLS)]
    style = [("FONTNAME", (0, 0), (-1, -1), st.cell.fontName),
             ("GRID", (0, 0), (-1, -1), 0.5, GRID), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, 0), SHADE), ("TOPPADDING", (0, 0), (-1, -1), 3),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 4)] + extra
    return Table(rows, colWidths=widths, repeatRows=1, style=TableStyle(style))


def _summary(content: CaseContent, words: dict) -> list[str]:
    counts = Counter(item.result for item in content.items)
    lines = [words["summary"].format(
        total=len(content.items), compliant=counts["compliant"],
        noncompliant=counts["noncompliant"], major=len(content.major_hazards),
        not_applicable=counts["not_applicable"])]
    if not content.hazards:
        return lines + [words["no_hazard"]]
    lines.append(words["order_follows"].format(
        number=content.number(DocumentKind.RECTIFICATION_ORDER)))
    if content.major_hazards:
        lines.append(words["measures_follow"].format(
            number=content.number(DocumentKind.ONSITE_MEASURES)))
    return lines


def record_story(content: CaseContent, fonts: FontSet) -> list:
    st, words = styles(fonts), wording("inspection_record")
    checklists = "、".join(f"《{title}》" for title in content.checklists)
    intro = words["findings_intro"].format(checklists=checklists)
    story = [_field_table(content, st, words), Spacer(1, 0.4 * cm),
             _statement(content, st, words),
             KeepTogether([para(words["findings"], st.plain), para(intro, st.body)]),
             Spacer(1, 0.15 * cm), _item_table(content, st, words), Spacer(1, 0.3 * cm)]
    story += [para(text, st.body) for text in _summary(content, words)]
    sigs, day = content.signatures, content.document_date
    note = words["refused_note"] if sigs.refused else words["confirmed"]
    lines = officer_lines(content.officers, sigs, day, words["officer_sign"])
    lines += party_lines(sigs, day, words["representative_sign"])
    return story + [closing(lines, fonts, lead=[para(note, st.body)])]


def render_inspection_record(content: CaseContent, fonts: FontSet | None = None) -> bytes:
    """现场检查记录 as PDF bytes, with the photo annex when the inspection has photos."""
    fonts = fonts or document_fonts()
    return build_case_pdf(DocumentKind.INSPECTION_RECORD, "inspection_record",
                          record_story(content, fonts) + annex_story(content.photos, fonts),
                          content, fonts)
