"""现场处理措施决定书: the major hazards that stop work now, and the measures taken on the spot."""
from __future__ import annotations

from documents.content import CaseContent
from documents.fonts import FontSet, document_fonts
from documents.layout import build_case_pdf, cn_date, para, styles, wording
from documents.rectification_order import decision_closing
from models.documents import DocumentKind

CN_NUMBERS = "一二三四五六七八九十"


def _ordinal(n: int) -> str:
    """一 … 十, then plain digits (more than ten measures is not expected)."""
    return CN_NUMBERS[n - 1] if n <= len(CN_NUMBERS) else str(n)


def measures_story(content: CaseContent, fonts: FontSet) -> list:
    st, words = styles(fonts), wording("onsite_measures")
    story = [para(words["salutation"].format(enterprise=content.enterprise.name), st.plain),
             para(words["intro"].format(date=cn_date(content.started_at)), st.body)]
    for n, hazard in enumerate(content.major_hazards, 1):
        text = words["hazard"].format(description=hazard.description.rstrip("。"),
                                      clause=hazard.major_clause)
        story.append(para(f"{n}．{text}", st.item))
    story.append(para(words["legal_basis"].format(law=words["law"]), st.body))
    measures = content.measures or tuple(words["measures"])
    story += [para(f"（{_ordinal(n)}）{m}", st.body) for n, m in enumerate(measures, 1)]
    order_number = content.number(DocumentKind.RECTIFICATION_ORDER)
    story.append(para(words["execution"].format(order_number=order_number), st.body))
    return story + decision_closing(content, words, st, fonts)


def render_onsite_measures(content: CaseContent, fonts: FontSet | None = None) -> bytes:
    """现场处理措施决定书 for the inspection's major hazards, as PDF bytes."""
    fonts = fonts or document_fonts()
    return build_case_pdf(DocumentKind.ONSITE_MEASURES, "onsite_measures",
                          measures_story(content, fonts), content, fonts)
