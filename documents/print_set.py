"""What 「打印全部」 prints: a case's issued documents in the template's order, and how many sets.

The photo annex is printed after the last document (record, order, decision, photo annex):
the annex pages are found by the record's outline entry (documents.photo_annex.ANNEX_KEY),
so the signed file itself is printed, never a re-rendered copy.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from documents.service import KIND_LABEL, document_file, issued_documents
from models.documents import DocumentKind
from models.settings_rules import stored_agency_settings

PRINT_ORDER = (DocumentKind.INSPECTION_RECORD, DocumentKind.RECTIFICATION_ORDER,
               DocumentKind.ONSITE_MEASURES, DocumentKind.REINSPECTION_OPINION)
DEFAULT_COPIES = 2  # 本文书一式两份


@dataclass(frozen=True)
class PrintDocument:
    label: str   # 现场检查记录
    number: str
    path: Path
    kind: DocumentKind


@dataclass(frozen=True)
class PrintPart:
    """A run of pages of one document file (0-based, end exclusive)."""

    label: str
    path: Path
    first: int
    end: int

    @property
    def pages(self) -> int:
        return self.end - self.first


def print_documents(session, data_dir: Path, inspection_id: uuid.UUID) -> list[PrintDocument]:
    """The documents in force for the inspection, in the template's order."""
    docs = sorted(issued_documents(session, inspection_id), key=lambda d: PRINT_ORDER.index(d.kind))
    return [PrintDocument(KIND_LABEL[d.kind], d.number, document_file(data_dir, d), d.kind)
            for d in docs]


def copies_per_document(session) -> int:
    """How many sets the agency prints (设置 → 打印份数; the template says 一式两份)."""
    settings = stored_agency_settings(session)
    copies = settings.document_copies if settings is not None else None
    return copies if copies and copies > 0 else DEFAULT_COPIES


def print_parts(docs: list[PrintDocument], page_counts: list[int],
                annex_starts: list[int | None], annex_label: str) -> list[PrintPart]:
    """Each document's pages in order, the photo annexes (where they begin) last."""
    parts, annexes = [], []
    for doc, count, annex in zip(docs, page_counts, annex_starts, strict=True):
        body_end = annex if annex is not None and 0 < annex < count else count
        parts.append(PrintPart(doc.label, doc.path, 0, body_end))
        if body_end < count:
            annexes.append(PrintPart(annex_label, doc.path, body_end, count))
    return parts + annexes


def print_summary(parts: list[PrintPart], copies: int) -> str:
    """「现场检查记录 4 页、… 每套 9 页，一式两份，共 18 页」 for the confirmation."""
    per_set = sum(p.pages for p in parts)
    listing = "\n".join(f"{n}．{p.label}　{p.pages} 页" for n, p in enumerate(parts, 1))
    return f"{listing}\n\n每套 {per_set} 页，共打印 {copies} 套，合计 {per_set * copies} 页。"
