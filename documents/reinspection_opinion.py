"""整改复查意见书: per ordered problem, rectified or not, with what the re-inspection saw.

Rendered from a ReinspectionContent the re-inspection flow supplies; no store access here.
"""
from __future__ import annotations

from reportlab.platypus import KeepTogether

from documents.content import ReinspectedItem, ReinspectionContent
from documents.fonts import FontSet, document_fonts
from documents.layout import DocMeta, Styles, build_pdf, cn_date, para, styles, wording
from documents.photo_annex import annex_story
from documents.rectification_order import item_list
from documents.signature_block import closing, officer_lines, party_lines


def _item(n: int, item: ReinspectedItem, st: Styles, words: dict) -> list:
    verdict = words["rectified"] if item.rectified else words["not_rectified"]
    parts = [para(f"{n}．" + words["item"].format(problem=item.problem.rstrip("。："),
                                                  verdict=verdict), st.item)]
    for key, text in (("note", item.note), ("evidence", item.evidence)):
        if text.strip():
            parts.append(para(words[key].format(text=text.strip()), st.sub))
    return parts


def _conclusion(content: ReinspectionContent, words: dict) -> str:
    open_items = [n for n, item in enumerate(content.items, 1) if not item.rectified]
    if not open_items:
        return words["all_done"]
    return words["some_open"].format(items=item_list(open_items))


def opinion_story(content: ReinspectionContent, fonts: FontSet) -> list:
    st, words = styles(fonts), wording("reinspection_opinion")
    story = [para(words["salutation"].format(enterprise=content.enterprise.name), st.plain),
             para(words["intro"].format(order_date=cn_date(content.order_date),
                                        decision=content.decision,
                                        order_number=content.order_number), st.body)]
    story += [KeepTogether(_item(n, item, st, words)) for n, item in enumerate(content.items, 1)]
    sigs, day = content.signatures, content.document_date
    common = wording("common")
    # The template: the enterprise's person in charge signs first, then the inspectors.
    lines = party_lines(sigs, day, words["representative_sign"])
    lines += officer_lines(content.officers, sigs, day, common["officer_sign"],
                           common["officer_cert"])
    lead = [para(_conclusion(content, words), st.body)]
    return story + [closing(lines, fonts, lead=lead, seal=(content.agency.name, day),
                            foot=words["footer"])]


def render_reinspection_opinion(content: ReinspectionContent,
                                fonts: FontSet | None = None) -> bytes:
    """整改复查意见书 as PDF bytes (with a photo annex when evidence photos are given)."""
    fonts = fonts or document_fonts()
    meta = DocMeta(wording("reinspection_opinion")["title"], content.number(),
                   content.agency.name, content.reinspected_at, fonts)
    return build_pdf(meta, opinion_story(content, fonts) + annex_story(content.photos, fonts))
