"""「打印全部」: the whole signed set of a case in order, in the copies the template asks for."""
import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat
from PySide6.QtCore import QBuffer, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QPushButton

import ui.documents_panel as panel_module
from tests.conftest import (Clock, make_enterprise, make_inspection, make_team,
                            people_signing)
from documents.service import issue_case_documents
from models.inspection import AnswerResult
from models.inspection_rules import answer_item, finalize_inspection, inspection_items
from models.photo_store import attach_photo
from models.settings_rules import save_agency_settings
from tests.documents import AGENCY, marked_photo
from tests.ui.test_settings_dialogs import when_modal_opens
import ui.print_all as print_module
from ui.documents_panel import DocumentsPanel
from ui.print_all import case_print_plan


def _issue_case(store):
    """A signed case: a major hazard with two photos, so record, order, decision and annex:
    (its id, the clock's time at the end)."""
    clock = Clock()
    store.clock = clock
    enterprise_id = make_enterprise(store)
    inspection_id = make_inspection(store, enterprise_id, make_team(store), clock)
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    with store.session() as s:
        items = inspection_items(s, inspection_id)
    major = next(i for i in items if i.major)
    for item in items:
        with store.transaction() as s:
            bad = item.id == major.id
            answer = answer_item(s, inspection_id, item.id,
                                 AnswerResult.NONCOMPLIANT if bad else AnswerResult.COMPLIANT)
            if bad:
                for shade in (200, 120):
                    attach_photo(s, store.photos_dir, inspection_id,
                                 marked_photo((800, 600), shade=shade), answer_id=answer.id,
                                 caption="现场情况")
    with store.transaction() as s:
        finalize_inspection(s, inspection_id)
    issue_case_documents(store, inspection_id, people_signing(store, inspection_id))
    return inspection_id, clock.now


@pytest.fixture
def issued_case(tmp_path, clock, store_maker):
    """(store, inspection id): a copy of the signed case, which is built once per run
    (rendering and signing its documents took seconds a test)."""
    store, (inspection_id,) = store_maker.open_case(tmp_path / "data", "print-all-issued",
                                                    _issue_case, clock)
    yield store, inspection_id
    store.close()


@pytest.fixture
def store(request, tmp_path, clock, store_maker):
    """A test of the signed case gets its store; any other a fresh one (tests/conftest.py)."""
    s, ours = store_maker.case_or_fresh(request, tmp_path / "data", clock)
    yield s
    if ours:
        s.close()


@pytest.fixture
def issued(issued_case):
    return issued_case[1]


@pytest.fixture
def pdf_printer(tmp_path, monkeypatch):
    """The print dialog answered with a printer that writes a PDF file."""
    out = tmp_path / "printed.pdf"

    def choose(_parent, copies=1):
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setCopyCount(copies)  # as the dialog offers it, left as it is
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(out))
        return printer
    monkeypatch.setattr(print_module, "choose_printer", choose)
    return out


def _thumb(doc: QPdfDocument, page: int) -> Image.Image:
    """The page small, on white paper, blurred and contrast-stretched: a printed page (an image
    at 300 dpi) and the signed page (vector text) then look alike, other pages do not."""
    image = doc.render(page, QSize(150, 212))
    paper = QImage(image.size(), QImage.Format.Format_RGB32)
    paper.fill(Qt.GlobalColor.white)
    painter = QPainter(paper)
    painter.drawImage(0, 0, image)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    paper.save(buffer, "PNG")
    grey = Image.open(io.BytesIO(bytes(buffer.data()))).convert("L")
    return ImageOps.autocontrast(grey.filter(ImageFilter.GaussianBlur(3)))


def _difference(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(a, b)).mean[0]


def _load(path: Path, parent) -> QPdfDocument:
    doc = QPdfDocument(parent)
    assert doc.load(str(path)) == QPdfDocument.Error.None_
    return doc


def test_print_all_prints_two_sets_in_template_order(qtbot, store, issued, pdf_printer):
    """After the page count is confirmed, two sets print: record, order, decision, then the
    photo annex; every printed page is the page of the signed file it should be."""
    panel = DocumentsPanel(store, issued, "张卫东、李晓红")
    qtbot.addWidget(panel)
    panel.show()
    seen = []

    def answer(box):
        seen.append(box.text() + box.informativeText())
        next(b for b in box.findChildren(QPushButton) if b.text() == "打印").click()
    when_modal_opens(answer)
    qtbot.mouseClick(panel.print_all_button, Qt.MouseButton.LeftButton)
    parts, copies, loaded = case_print_plan(panel, store, issued)
    assert copies == 2
    assert [p.label for p in parts] == ["现场检查记录", "责令限期整改指令书", "现场处理措施决定书",
                                        "照片附页"]
    per_set = sum(p.pages for p in parts)
    assert f"每套 {per_set} 页，共打印 2 套，合计 {2 * per_set} 页" in seen[0]
    printed = _load(pdf_printer, panel)
    assert printed.pageCount() == 2 * per_set
    expected = [(p.path, page) for p in parts for page in range(p.first, p.end)] * 2
    sources = {key: _thumb(loaded[key[0]], key[1]) for key in set(expected)}
    for n, key in enumerate(expected):  # each printed page looks most like the one expected
        page = _thumb(printed, n)
        assert min(sources, key=lambda k: _difference(page, sources[k])) == key, n
    assert "2 套" in panel.status.text() and str(2 * per_set) in panel.status.text()


def test_print_all_cancelled_prints_nothing(qtbot, store, issued, pdf_printer):
    """取消 at the page-count confirmation sends nothing to the printer."""
    panel = DocumentsPanel(store, issued, "张卫东、李晓红")
    qtbot.addWidget(panel)
    when_modal_opens(lambda box: next(b for b in box.findChildren(QPushButton)
                                      if b.text() == "取消").click())
    qtbot.mouseClick(panel.print_all_button, Qt.MouseButton.LeftButton)
    assert not pdf_printer.exists() and panel.status.text() == ""


def test_copies_follow_the_setting(qtbot, store, issued, pdf_printer):
    """An agency that files three copies (设置 → 打印份数 3) gets three sets."""
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY, document_copies=3)
    panel = DocumentsPanel(store, issued, "张卫东、李晓红")
    qtbot.addWidget(panel)
    when_modal_opens(lambda box: next(b for b in box.findChildren(QPushButton)
                                      if b.text() == "打印").click())
    qtbot.mouseClick(panel.print_all_button, Qt.MouseButton.LeftButton)
    parts, copies, _loaded = case_print_plan(panel, store, issued)
    assert copies == 3
    assert _load(pdf_printer, panel).pageCount() == 3 * sum(p.pages for p in parts)


def test_save_as_says_where_the_file_went(qtbot, store, issued, tmp_path, monkeypatch):
    """After 另存为 PDF the panel names the file it wrote."""
    panel = DocumentsPanel(store, issued, "张卫东、李晓红")
    qtbot.addWidget(panel)
    panel.show()
    target = tmp_path / "U盘" / "检查记录.pdf"
    target.parent.mkdir()
    monkeypatch.setattr(panel_module.QFileDialog, "getSaveFileName", lambda *a: (str(target), "PDF"))
    panel.save_as()
    assert target.exists() and panel.status.isVisible()
    assert panel.status.text() == f"已另存为：{target}"
