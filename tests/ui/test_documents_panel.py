"""After finalizing: sign on the pad, issue the signed documents, preview, print, save."""
import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter

import ui.documents_panel as panel_module
from documents.demo_signing import squiggle_png
from documents.signing import verify_pdf
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from ui.documents_panel import DocumentsPanel
from ui.pdf_preview import PdfPreviewDialog, load_pdf, print_pdf


@pytest.fixture
def finalized(store, inspection_id, clock):
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    for n, item in enumerate(items):
        with store.transaction() as s:
            answer_item(s, inspection_id, item.id,
                        AnswerResult.NONCOMPLIANT if n == 0 else AnswerResult.COMPLIANT)
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)
    return inspection_id


@pytest.fixture
def people(monkeypatch):
    """Everyone signs on the pad; passphrases are typed; the questions are recorded."""
    asked = {"signatures": [], "texts": []}

    def ask_signature(parent, label, allow_refusal=False):
        asked["signatures"].append(label)
        return squiggle_png(len(asked["signatures"])), False

    def ask_text(parent, title, label, secret=False):
        asked["texts"].append(label)
        return "口令12345678"
    monkeypatch.setattr(panel_module, "ask_signature", ask_signature)
    monkeypatch.setattr(panel_module, "ask_text", ask_text)
    return asked


def _issue(qtbot, panel):
    with qtbot.waitSignal(panel.issued, timeout=60000):
        qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)


def test_signing_issues_signed_documents(qtbot, store, finalized, people):
    """Both inspectors and the manager sign; first use sets up each inspector's key."""
    panel = DocumentsPanel(store, finalized, "张卫东、李晓红")
    qtbot.addWidget(panel)
    panel.show()
    assert panel.sign_button.isVisible() and panel.list.count() == 0
    _issue(qtbot, panel)
    assert len(people["signatures"]) == 3 and "现场负责人" in people["signatures"][2]
    assert sum("设置签名口令" in t or "首次" in t for t in people["texts"]) == 2
    assert panel.list.count() == 3  # record, order, and measures (the failed item is major)
    assert "已签章" in panel.list.item(0).text() and not panel.sign_button.isVisible()
    _title, path = panel._selected()
    report = verify_pdf(path)
    assert report.intact and len(report.signatures) == 2


def test_preview_print_and_save(qtbot, store, finalized, people, tmp_path, monkeypatch):
    """The preview shows every page; printing puts each page on paper; save-as copies the file."""
    panel = DocumentsPanel(store, finalized, "张卫东、李晓红")
    qtbot.addWidget(panel)
    _issue(qtbot, panel)
    _, path = panel._selected()
    pages = len(PdfReader(path).pages)
    preview = PdfPreviewDialog(path, "现场检查记录", panel)
    qtbot.addWidget(preview)
    assert preview.document.pageCount() == pages
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    assert print_pdf(load_pdf(path, panel), printer) == pages
    assert len(PdfReader(tmp_path / "printed.pdf").pages) == pages
    target = tmp_path / "copy.pdf"
    monkeypatch.setattr(panel_module.QFileDialog, "getSaveFileName", lambda *a: (str(target), "PDF"))
    panel.save_as()
    assert target.read_bytes() == path.read_bytes()


def test_manager_reads_the_unsigned_documents_before_signing(qtbot, store, finalized, monkeypatch):
    """签字前预览 renders the real documents without signatures and opens the first one."""
    opened = []
    monkeypatch.setattr(panel_module, "open_preview", lambda parent, path, title: opened.append((path, title)))
    panel = DocumentsPanel(store, finalized, "张卫东、李晓红")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.drafts_ready, timeout=60000):
        qtbot.mouseClick(panel.draft_button, Qt.MouseButton.LeftButton)
    assert panel.list.count() == 3 and "草稿" in panel.list.item(0).text()
    path, title = opened[0]
    assert title == "现场检查记录（草稿）" and not verify_pdf(path).signed
    text = "".join(p.extract_text() for p in PdfReader(path).pages)
    assert "现场检查记录" in text


def test_cancelled_signature_issues_nothing(qtbot, store, finalized, monkeypatch):
    """Closing the signature pad without signing leaves the case without documents."""
    monkeypatch.setattr(panel_module, "ask_signature", lambda *a, **k: (None, False))
    panel = DocumentsPanel(store, finalized, "张卫东、李晓红")
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.sign_button, Qt.MouseButton.LeftButton)
    assert panel.list.count() == 0 and panel.sign_button.isEnabled()




def test_agency_certificate_import(qtbot, store, team, tmp_path, monkeypatch):
    """An inspector's .p12 from the agency is imported and then used to sign."""
    import ui.certificate_import as cert_module
    from documents.keys import create_inspector_identity, identity_exists, key_path, load_identity
    made = create_inspector_identity(tmp_path / "agency", team[0], "张卫东", "43038120001",
                                     "agency-pass", "湘乡市应急管理局")
    monkeypatch.setattr(cert_module.QFileDialog, "getOpenFileName", lambda *a: (str(made), ""))
    monkeypatch.setattr(cert_module.QInputDialog, "getText", lambda *a: ("agency-pass", True))
    monkeypatch.setattr(cert_module.QMessageBox, "information", lambda *a: None)
    assert cert_module.import_certificate(None, store.data_dir, team[0], "张卫东")
    assert identity_exists(store.data_dir, team[0])
    assert key_path(store.data_dir, team[0]).read_bytes() == made.read_bytes()
    assert load_identity(store.data_dir, team[0], "agency-pass").signing_cert is not None
