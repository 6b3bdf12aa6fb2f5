"""Reading the real PDF on the laptop before signing, and printing it at true scale."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfBookmarkModel, QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from models.errors import FieldCheckError


def load_pdf(path: Path, parent) -> QPdfDocument:
    document = QPdfDocument(parent)
    if document.load(str(path)) != QPdfDocument.Error.None_:
        raise FieldCheckError(f"无法打开文书文件 {path}", "文件可能已被移动或损坏；请从备份恢复数据文件夹")
    return document


class PdfPreviewDialog(QDialog):
    """Page by page, zoomable: the enterprise's representative reads what they sign."""

    def __init__(self, path: Path, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.document = load_pdf(path, self)
        self.view = QPdfView(self)
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.page_label = QLabel(f"共 {self.document.pageCount()} 页")
        buttons = QHBoxLayout()
        for text, slot in (("缩小", lambda: self._zoom(1 / 1.25)), ("放大", lambda: self._zoom(1.25)),
                           ("适合宽度", self._fit)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addWidget(self.page_label)
        buttons.addStretch()
        close = QPushButton("关闭")
        close.clicked.connect(self.accept)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.view, 1)
        self.resize(900, 700)

    def _zoom(self, factor: float) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.Custom)
        self.view.setZoomFactor(max(0.25, min(4.0, self.view.zoomFactor() * factor)))

    def _fit(self) -> None:
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)


# Pages are rendered at most at this resolution and scaled onto the sheet: at a printer's
# 1200 dpi one A4 page would be a 557 MB image; 300 dpi (35 MB) is sharp on paper.
RENDER_DPI = 300


def print_pdf(document: QPdfDocument, printer) -> int:
    """Draw every page onto the printer at its true size; returns the pages printed."""
    return print_pages([(document, page) for page in range(document.pageCount())], printer)


def print_pages(pages: list[tuple[QPdfDocument, int]], printer) -> int:
    """Draw the given pages, in order, each at its true size; returns the pages printed."""
    painter = QPainter()
    if not painter.begin(printer):
        raise FieldCheckError("无法开始打印", "请检查打印机是否已连接并开机，然后重试")
    dpi = printer.resolution()
    render_dpi = min(dpi, RENDER_DPI)
    try:
        for n, (document, page) in enumerate(pages):
            if n:
                printer.newPage()
            points = document.pagePointSize(page)
            image = document.render(page, QSize(round(points.width() / 72 * render_dpi),
                                                round(points.height() / 72 * render_dpi)))
            # Paper rectangle origin: the page maps 1:1 onto the sheet (true scale, not fit-to-page).
            paper = printer.paperRect(printer.Unit.DevicePixel)
            page_rect = printer.pageRect(printer.Unit.DevicePixel)
            target = QRectF(paper.x() - page_rect.x(), paper.y() - page_rect.y(),
                            points.width() / 72 * dpi, points.height() / 72 * dpi)
            painter.drawImage(target, image)
    finally:
        painter.end()
    return len(pages)


def annex_start(document: QPdfDocument, title: str) -> int | None:
    """The page (0-based) where the outline entry `title` points, None when there is none."""
    model = QPdfBookmarkModel()
    model.setDocument(document)
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if model.data(index, QPdfBookmarkModel.Role.Title) == title:
            return int(model.data(index, QPdfBookmarkModel.Role.Page))
    return None
