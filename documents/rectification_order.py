"""责令限期整改指令书: the numbered problems with their basis and deadlines, the order, remedies."""
from __future__ import annotations

from datetime import date

from reportlab.platypus import KeepTogether

from documents.content import Agency, CaseContent, HazardFacts
from documents.fonts import FontSet, document_fonts
from documents.layout import Styles, build_case_pdf, cn_date, fill, para, styles, wording
from documents.signature_block import closing, officer_lines, party_lines
from models.documents import DocumentKind


def item_list(numbers: list[int]) -> str:
    """1、2、3、5 → "1至3、5": runs of three or more are shortened."""
    parts, run = [], []
    for n in sorted(numbers) + [None]:
        if run and (n is None or n != run[-1] + 1):
            parts.append(f"{run[0]}至{run[-1]}" if len(run) >= 3 else "、".join(map(str, run)))
            run = []
        if n is not None:
            run.append(n)
    return "、".join(parts)


def deadline_groups(hazards: tuple[HazardFacts, ...], words: dict) -> str:
    """"第1、3项问题于2026年11月9日前，第2项问题于…前", earliest deadline first."""
    by_day: dict[date, list[int]] = {}
    for n, hazard in enumerate(hazards, 1):
        by_day.setdefault(hazard.deadline, []).append(n)
    return words["group_separator"].join(
        words["group"].format(items=item_list(numbers), date=cn_date(day))
        for day, numbers in sorted(by_day.items()))


def problem(n: int, hazard: HazardFacts, st: Styles, words: dict) -> KeepTogether:
    head = f"{n}．{hazard.description.rstrip('。')}"
    if hazard.is_major:
        head += words["major_mark"].format(clause=hazard.major_clause)
    parts = [para(head, st.item)]
    if hazard.legal_basis.strip():
        parts.append(para(words["basis"].format(text=hazard.legal_basis.strip()), st.sub))
    parts += [para(words["requirement"].format(text=hazard.rectification.strip()), st.sub),
              para(words["deadline"].format(date=cn_date(hazard.deadline)), st.sub)]
    return KeepTogether(parts)


def remedy(agency: Agency, words: dict, st: Styles):
    return para(fill(words["remedy"], government=agency.reconsideration_government,
                     court=agency.court), st.body)


def decision_closing(content: CaseContent, words: dict, st: Styles, fonts: FontSet) -> list:
    """The end of a decision served on the enterprise (this order, the 现场处理措施决定书):
    the remedies, the officers' and the representative's signatures, the seal, the footer."""
    sigs, day = content.signatures, content.document_date
    common = wording("common")
    lines = officer_lines(content.officers, sigs, day, common["officer_sign"], common["officer_cert"])
    lines += party_lines(sigs, day, words["representative_sign"])
    return [closing(lines, fonts, lead=[remedy(content.agency, words, st)],
                    seal=(content.agency.name, day), foot=words["footer"])]


def order_story(content: CaseContent, fonts: FontSet) -> list:
    st, words = styles(fonts), wording("rectification_order")
    story = [para(words["salutation"].format(enterprise=content.enterprise.name), st.plain),
             para(words["intro"], st.body)]
    story += [problem(n, h, st, words) for n, h in enumerate(content.hazards, 1)]
    story += [para(words["order"].format(groups=deadline_groups(content.hazards, words)), st.body),
              para(words["safety"], st.body)]
    return story + decision_closing(content, words, st, fonts)


def render_rectification_order(content: CaseContent, fonts: FontSet | None = None) -> bytes:
    """责令限期整改指令书 for the inspection's hazards, as PDF bytes."""
    fonts = fonts or document_fonts()
    return build_case_pdf(DocumentKind.RECTIFICATION_ORDER, "rectification_order",
                          order_story(content, fonts), content, fonts)
