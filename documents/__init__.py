"""The enforcement documents (安全生产行政执法文书) as PDF: collected from the store, then rendered.

No Qt here. `collect_case` turns a finalized inspection into a plain CaseContent;
`documents_for_case` renders every document that applies to it.
"""
from __future__ import annotations

from documents.content import (Agency, CaseContent, CheckedItem, EnterpriseFacts, HazardFacts,
                               Officer, PhotoFacts, ReinspectedItem, ReinspectionContent,
                               Signatures, collect_case, document_number)
from documents.fonts import FontMissingError, FontSet, document_fonts
from documents.inspection_record import render_inspection_record
from documents.onsite_measures import render_onsite_measures
from documents.rectification_order import render_rectification_order
from documents.reinspection_opinion import render_reinspection_opinion
from models.documents import DocumentKind


def documents_for_case(content: CaseContent,
                       fonts: FontSet | None = None) -> list[tuple[DocumentKind, str, bytes]]:
    """The record always; the order when hazards need rectifying; the measures for major ones."""
    fonts = fonts or document_fonts()
    plan = [(DocumentKind.INSPECTION_RECORD, render_inspection_record)]
    if content.hazards:
        plan.append((DocumentKind.RECTIFICATION_ORDER, render_rectification_order))
    if content.major_hazards:
        plan.append((DocumentKind.ONSITE_MEASURES, render_onsite_measures))
    return [(kind, content.number(kind), render(content, fonts)) for kind, render in plan]


__all__ = [
    "Agency", "CaseContent", "CheckedItem", "DocumentKind", "EnterpriseFacts", "FontMissingError",
    "FontSet", "HazardFacts", "Officer", "PhotoFacts", "ReinspectedItem", "ReinspectionContent",
    "Signatures", "collect_case", "document_fonts", "document_number", "documents_for_case",
    "render_inspection_record", "render_onsite_measures", "render_rectification_order",
    "render_reinspection_opinion",
]
