"""Handwritten signatures: a pad for mouse, pen (with pressure) and finger, and its dialog.

Strokes are kept as points (x, y, pressure) and drawn as quadratic curves through the
midpoints of successive points, antialiased, about 3 px wide at normal pressure. The PNG
(`to_png_bytes`) is rendered from the points alone — transparent, trimmed to the ink — so the
same strokes always give the same bytes, whatever the screen.
"""
from __future__ import annotations

import math
from itertools import pairwise

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPaintEvent,
                           QPen, QTabletEvent)
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy,
                               QVBoxLayout, QWidget)

from ui.style import GREY, RED

Point = tuple[float, float, float]   # x, y, pressure 0..1
BASE_WIDTH = 3.0                      # px at the pressure a mouse or finger reports (0.5)
MOUSE_PRESSURE = 0.5
INK = QColor(10, 10, 40)
PNG_MARGIN = 8                        # px of transparent border around the ink
PNG_SCALE = 2.0                       # rendered at twice the pad's size, for print


def stroke_width(pressure: float) -> float:
    """Pen width for a pressure: 3 px at 0.5, from 1.2 px (light) up to 4.8 px (hard)."""
    return BASE_WIDTH * (0.4 + 1.2 * max(0.0, min(1.0, pressure)))


def paint_strokes(painter: QPainter, strokes: list[list[Point]]) -> None:
    """Draw strokes as smooth curves through midpoints, width following the pressure."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for path, width in _pieces(strokes):
        if not width:
            painter.fillPath(path, INK)
            continue
        painter.setPen(QPen(INK, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                            Qt.PenJoinStyle.RoundJoin))
        painter.drawPath(path)


def ink_bounds(strokes: list[list[Point]]) -> QRectF:
    """The rectangle the ink covers: the curves' own extent plus half the pen width."""
    bounds = QRectF()
    for path, width in _pieces(strokes):
        r = width / 2 + 0.5   # antialiasing tints half a pixel more
        bounds = bounds.united(path.boundingRect().adjusted(-r, -r, r, r))
    return bounds


def _pieces(strokes: list[list[Point]]):
    """(path, pen width) per curve piece; a stroke of one point is a dot (width 0: filled)."""
    for stroke in strokes:
        if len(stroke) == 1:
            x, y, p = stroke[0]
            path = QPainterPath()
            path.addEllipse(QPointF(x, y), stroke_width(p) / 2, stroke_width(p) / 2)
            yield path, 0.0
            continue
        for start, control, end, pressure in _segments(stroke):
            path = QPainterPath(start)
            path.quadTo(control, end)
            yield path, stroke_width(pressure)


def _segments(stroke: list[Point]):
    """(start, control, end, pressure): each curve runs from midpoint to midpoint."""
    pts = [QPointF(x, y) for x, y, _ in stroke]
    mids = [(a + b) / 2 for a, b in pairwise(pts)]
    pressures = [p for _, _, p in stroke]
    yield pts[0], pts[0], mids[0], pressures[0]
    for i in range(1, len(pts) - 1):
        yield mids[i - 1], pts[i], mids[i], pressures[i]
    yield mids[-1], pts[-1], pts[-1], pressures[-1]


def render_png(strokes: list[list[Point]], scale: float = PNG_SCALE,
               margin: int = PNG_MARGIN) -> bytes:
    """The strokes as a transparent PNG trimmed to the ink plus `margin` (in pad pixels)."""
    bounds = ink_bounds(strokes)
    if bounds.isEmpty():
        raise ValueError("no strokes to render")
    width = math.ceil((bounds.width() + 2 * margin) * scale)
    height = math.ceil((bounds.height() + 2 * margin) * scale)
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    image.setDotsPerMeterX(11811)  # 300 dpi, fixed so the file never depends on the screen
    image.setDotsPerMeterY(11811)
    painter = QPainter(image)
    painter.scale(scale, scale)
    painter.translate(margin - bounds.left(), margin - bounds.top())
    paint_strokes(painter, strokes)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


class SignaturePad(QWidget):
    """A white area to sign on; `changed` fires when a stroke starts or ends, on undo and clear."""

    changed = Signal()
    PLACEHOLDER = "请在此处签名"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strokes: list[list[Point]] = []
        self._device: str | None = None   # "mouse", "tablet" or "touch" while a stroke is drawn
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMinimumSize(300, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # state ----------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self.strokes

    def undo(self) -> None:
        """Take back the last stroke."""
        if self.strokes:
            self.strokes.pop()
            self._device = None
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        if self.strokes:
            self.strokes.clear()
            self._device = None
            self.update()
            self.changed.emit()

    def to_png_bytes(self) -> bytes:
        """The signature as a PNG; raises ValueError when nothing has been drawn."""
        return render_png(self.strokes)

    # input ----------------------------------------------------------------------------

    def _inside(self, pos: QPointF) -> tuple[float, float]:
        """A drag that leaves the pad keeps to its edge: ink off screen would still print."""
        return (min(max(pos.x(), 0.0), float(self.width())),
                min(max(pos.y(), 0.0), float(self.height())))

    def _begin(self, device: str, pos: QPointF, pressure: float) -> None:
        self._device = device
        self.strokes.append([(*self._inside(pos), pressure)])
        self.update()
        self.changed.emit()

    def _extend(self, device: str, pos: QPointF, pressure: float) -> None:
        if self._device != device:
            return
        x, y = self._inside(pos)
        last_x, last_y, _ = self.strokes[-1][-1]
        if math.hypot(x - last_x, y - last_y) < 0.5:
            return
        self.strokes[-1].append((x, y, pressure))
        self.update()

    def _end(self, device: str) -> None:
        if self._device == device:
            self._device = None
            self.changed.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # Touch and pen arrive as their own events; mouse copies of them would draw twice.
        if event.button() != Qt.MouseButton.LeftButton or self._device is not None \
                or event.source() == Qt.MouseEventSource.MouseEventSynthesizedByQt:
            event.ignore()
            return
        self._begin("mouse", event.position(), MOUSE_PRESSURE)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._extend("mouse", event.position(), MOUSE_PRESSURE)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._end("mouse")

    def tabletEvent(self, event: QTabletEvent) -> None:
        kind = event.type()
        if kind == QEvent.Type.TabletPress and self._device is None:
            self._begin("tablet", event.position(), event.pressure())
        elif kind == QEvent.Type.TabletMove:
            self._extend("tablet", event.position(), event.pressure())
        elif kind == QEvent.Type.TabletRelease:
            self._end("tablet")
        event.accept()

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd,
                    QEvent.Type.TouchCancel):
            self._touch(kind, event)
            event.accept()
            return True
        return super().event(event)

    def _touch(self, kind: QEvent.Type, event) -> None:
        points = event.points()
        if kind == QEvent.Type.TouchCancel:
            if self._device == "touch" and self.strokes:
                self.strokes.pop()   # the system took the gesture over: drop the half stroke
                self.update()
            self._end("touch")
        elif kind == QEvent.Type.TouchBegin and points and self._device is None:
            self._begin("touch", points[0].position(), MOUSE_PRESSURE)
        elif kind == QEvent.Type.TouchUpdate and points:
            self._extend("touch", points[0].position(), MOUSE_PRESSURE)
        elif kind == QEvent.Type.TouchEnd:
            self._end("touch")

    # painting -------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        self._paint_guides(painter)
        paint_strokes(painter, self.strokes)
        painter.end()

    def _paint_guides(self, painter: QPainter) -> None:
        painter.setPen(QPen(QColor("#b0bec5"), 1))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        baseline = int(self.height() * 0.78)
        painter.setPen(QPen(QColor("#cfd8dc"), 1, Qt.PenStyle.DashLine))
        painter.drawLine(24, baseline, self.width() - 24, baseline)
        if self.is_empty():
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.5)
            painter.setFont(font)
            painter.setPen(QColor("#9e9e9e"))
            painter.drawText(self.rect().adjusted(0, 0, 0, -self.height() // 4),
                             Qt.AlignmentFlag.AlignCenter, self.PLACEHOLDER)


class SignatureDialog(QDialog):
    """Asks one person to sign. After exec(): `png_bytes` (signed) or `refused` (拒绝签字)."""

    def __init__(self, role_label: str, parent: QWidget | None = None,
                 allow_refusal: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"签名：{role_label}")
        self.png_bytes: bytes | None = None
        self.refused = False
        title = QLabel(role_label)
        title.setProperty("role", "title")
        prompt = QLabel("请在下方白框内用手指、手写笔或鼠标签名；写错了可“撤销”上一笔或“清除”重写。")
        prompt.setWordWrap(True)
        prompt.setStyleSheet(f"color: {GREY};")
        self.pad = SignaturePad(self)
        self.pad.setMinimumSize(600, 220)
        self.undo_button = QPushButton("撤销")
        self.clear_button = QPushButton("清除")
        self.refuse_button = QPushButton("拒绝签字") if allow_refusal else None
        self.cancel_button = QPushButton("取消")
        self.ok_button = QPushButton("确定")
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(prompt)
        layout.addWidget(self.pad, 1)
        layout.addLayout(self._buttons())
        self.pad.changed.connect(self._update_buttons)
        self._update_buttons()
        self.resize(820, 440)   # room for a finger signature; fits a 1366×768 screen

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for button, slot in ((self.undo_button, self.pad.undo),
                             (self.clear_button, self.pad.clear)):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            row.addWidget(button)
        if self.refuse_button is not None:
            # Kept away from 确定 so that a refusal is never recorded by a slip of the finger.
            row.addSpacing(32)
            self.refuse_button.setAutoDefault(False)
            self.refuse_button.setStyleSheet(f"color: {RED};")
            self.refuse_button.clicked.connect(self._refuse)
            row.addWidget(self.refuse_button)
        row.addStretch()
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        row.addWidget(self.cancel_button)
        self.ok_button.setProperty("role", "primary")
        self.ok_button.setMinimumHeight(44)
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self._confirm)
        row.addWidget(self.ok_button)
        return row

    def _update_buttons(self) -> None:
        has_ink = not self.pad.is_empty()
        for button in (self.undo_button, self.clear_button, self.ok_button):
            button.setEnabled(has_ink)

    def _confirm(self) -> None:
        if self.pad.is_empty():
            return
        self.png_bytes = self.pad.to_png_bytes()
        self.refused = False
        self.accept()

    def _refuse(self) -> None:
        self.png_bytes = None
        self.refused = True
        self.accept()
