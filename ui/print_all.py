"""「打印全部」: a case's signed documents in the template's order, in whole sets.

documents.print_set says what to print and how many sets; this module finds each record's
photo annex (its outline entry), asks for confirmation with the page count, and prints.
"""
from __future__ import annotations

import uuid

from PySide6.QtPrintSupport import QPrintDialog, QPrinter

from documents.layout import wording
from documents.print_set import (PrintPart, copies_per_document, print_documents, print_parts,
                                 print_summary)
from ui.messages import confirm
from ui.pdf_preview import annex_start, load_pdf, print_pages


def choose_printer(parent, copies: int = 1) -> QPrinter | None:
    """The printer the user picks in the print dialog, which offers `copies` copies —
    replaced in tests by a printer that writes a PDF file."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setCopyCount(copies)
    return printer if QPrintDialog(printer, parent).exec() else None


def case_print_plan(parent, store, inspection_id: uuid.UUID):
    """(parts in print order, sets to print, the loaded QPdfDocument of each file)."""
    with store.session() as s:
        docs = print_documents(s, store.data_dir, inspection_id)
        copies = copies_per_document(s)
    loaded = {d.path: load_pdf(d.path, parent) for d in docs}
    annex_title = wording("common")["annex_title"]
    parts: list[PrintPart] = print_parts(
        docs, [loaded[d.path].pageCount() for d in docs],
        [annex_start(loaded[d.path], annex_title) for d in docs], annex_title)
    return parts, copies, loaded


def print_case(parent, store, inspection_id: uuid.UUID) -> str:
    """Confirm, pick the printer, print; what to tell the user ("" when nothing was printed).
    Raises FieldCheckError when a file cannot be opened or the printer cannot start."""
    parts, copies, loaded = case_print_plan(parent, store, inspection_id)
    if not parts:
        return ""
    text = "将按以下顺序打印本案全部文书：\n\n" + print_summary(parts, copies)
    if not confirm(parent, "打印全部", text, yes="打印", no="取消"):
        return ""
    printer = choose_printer(parent, copies)
    if printer is None:
        return ""
    # Whole sets are printed here, one after another (collated on every printer and in a
    # PDF); a count changed in the dialog is the number of sets.
    copies = max(1, printer.copyCount())
    printer.setCopyCount(1)
    pages = [(loaded[p.path], page) for p in parts for page in range(p.first, p.end)]
    printed = print_pages(pages * copies, printer)
    return f"已发送打印：本案全部文书 {copies} 套，共 {printed} 页。"
