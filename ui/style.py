"""One look for the whole app: large text and controls for gloves, touchpads and tired eyes."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

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


def apply_style(app: QApplication) -> None:
    from ui.plain_text import install
    install(app)  # record text is never read as markup (ui.plain_text)
    font = QFont(app.font())
    font.setPointSize(BASE_POINT_SIZE)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
