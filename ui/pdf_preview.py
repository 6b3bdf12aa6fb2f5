"""Reading the real PDF on the laptop before signing, and printing it at true scale."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
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


def print_pdf(document: QPdfDocument, printer) -> int:
    """Draw every page onto the printer at its true size; returns the pages printed."""
    painter = QPainter()
    if not painter.begin(printer):
        raise FieldCheckError("无法开始打印", "请检查打印机是否已连接并开机，然后重试")
    dpi = printer.resolution()
    try:
        for page in range(document.pageCount()):
            if page:
                printer.newPage()
            points = document.pagePointSize(page)
            size = QSize(round(points.width() / 72 * dpi), round(points.height() / 72 * dpi))
            image = document.render(page, size)
            # Paper rectangle origin: the page maps 1:1 onto the sheet (true scale, not fit-to-page).
            paper = printer.paperRect(printer.Unit.DevicePixel)
            page_rect = printer.pageRect(printer.Unit.DevicePixel)
            painter.drawImage(round(paper.x() - page_rect.x()), round(paper.y() - page_rect.y()), image)
    finally:
        painter.end()
    return document.pageCount()

