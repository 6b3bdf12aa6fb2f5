"""One look for the whole app: large text and controls for gloves, touchpads and tired eyes."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QFont, QWheelEvent
from PySide6.QtWidgets import (QAbstractScrollArea, QAbstractSpinBox, QApplication, QComboBox,
                               QHBoxLayout, QSlider)

BASE_POINT_SIZE = 12
RED = "#c62828"
GREEN = "#2e7d32"
GREY = "#757575"
AMBER = "#ef8f00"

STYLESHEET = f"""
QPushButton {{ min-height: 36px; padding: 4px 14px; }}
QPushButton[role="primary"] {{ background: #1565c0; color: white; border-radius: 4px; font-weight: bold; }}
QPushButton[role="primary"]:disabled {{ background: #90a4ae; }}
QPushButton[role="nav"] {{ min-height: 52px; text-align: left; padding-left: 16px; font-size: 14pt; }}
QPushButton[role="nav"]:checked {{ background: #1565c0; color: white; }}
QLineEdit, QComboBox, QDateTimeEdit, QDateEdit, QSpinBox {{ min-height: 32px; }}
QLabel[role="fieldError"] {{ color: {RED}; }}
QLabel[role="title"] {{ font-size: 18pt; font-weight: bold; }}
QFrame[role="majorBanner"] {{ background: {RED}; border-radius: 4px; }}
QFrame[role="majorBanner"] QLabel {{ color: white; font-weight: bold; font-size: 13pt; }}
"""


class WheelGuard(QObject):
    """The wheel scrolls the page under the pointer; it changes a date, number or choice only
    while that field has the keyboard focus (a deadline once moved by years this way)."""

    GUARDED = (QAbstractSpinBox, QComboBox, QSlider)

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish and isinstance(watched, self.GUARDED):
            # Qt hands a WheelFocus widget the focus before any filter sees the wheel event:
            # such fields take the focus from a click or Tab only.
            if watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            return False
        if kind != QEvent.Type.Wheel or not isinstance(watched, self.GUARDED) or watched.hasFocus():
            return False
        area = watched.parentWidget()
        while area is not None and not isinstance(area, QAbstractScrollArea):
            area = area.parentWidget()
        if area is not None:  # the page around it scrolls instead (a sent event never propagates)
            viewport = area.viewport()
            centre = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
            QApplication.sendEvent(viewport, QWheelEvent(
                centre, event.globalPosition(), event.pixelDelta(), event.angleDelta(),
                event.buttons(), event.modifiers(), event.phase(), event.inverted()))
        return True


def install_wheel_guard(app: QApplication) -> WheelGuard:
    """Once per application, for every screen and dialog."""
    guard = app.findChild(WheelGuard)
    if guard is None:
        guard = WheelGuard(app)
        app.installEventFilter(guard)
    return guard


SCREEN_FAMILIES = ("Microsoft YaHei", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                   "Noto Sans CJK SC", "SimHei")


def apply_style(app: QApplication) -> None:
    from ui.plain_text import install
    install(app)  # record text is never read as markup (ui.plain_text)
    install_wheel_guard(app)
    font = QFont(app.font())
    font.setPointSize(BASE_POINT_SIZE)
    # A sans-serif (黑体-like) face on screen: once the documents' 宋体 font is installed,
    # fontconfig may hand it to the whole UI, and thin serifs read badly at a glance.
    font.setFamilies([*SCREEN_FAMILIES, font.family()])
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


PAGE_BUTTON_HEIGHT = 44  # a page's main buttons: big enough for gloves or a dusty touchpad


def page_top_row(title, search, buttons, extras=()) -> QHBoxLayout:
    """A list page's first row: its title, the search box taking the room left, anything
    beside it (a count), then the page's buttons, all of one height."""
    row = QHBoxLayout()
    row.setSpacing(10)
    row.addWidget(title)
    row.addSpacing(8)
    row.addWidget(search, 1)
    for extra in extras:
        row.addWidget(extra)
    for button in buttons:
        button.setMinimumHeight(PAGE_BUTTON_HEIGHT)
        row.addWidget(button)
    return row
