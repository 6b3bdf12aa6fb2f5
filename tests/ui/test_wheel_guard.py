"""The mouse wheel never changes a date, number or choice that lacks the keyboard focus —
on every screen; it scrolls the page instead. A focused field still takes the wheel."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QScrollArea

from tests.models.test_ledger import ordered_case, set_region
from ui.enterprise_dialog import EnterpriseDialog
from ui.ledger_page import LedgerPage
from ui.main_window import MainWindow
from ui.new_inspection_dialog import NewInspectionDialog
from ui.reinspection_page import ReinspectionPage
from ui.settings_dialog import SettingsDialog
from ui.style import install_wheel_guard


@pytest.fixture(autouse=True)
def guard(qapp):
    """The guard as the application installs it (ui.style.apply_style at start)."""
    return install_wheel_guard(qapp)


def wheel(widget, notches: int = -3) -> None:
    """Turn the wheel over the middle of `widget`. Sent to the field itself: that is where a
    real (spontaneous) wheel event arrives after its inner line edit passed it on; a sent one
    would stop at the line edit."""
    centre = widget.rect().center()
    event = QWheelEvent(QPointF(centre), QPointF(widget.mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def value(widget):
    return widget.text() if isinstance(widget, QAbstractSpinBox) else widget.currentIndex()


def fields(screen):
    found = [w for w in screen.findChildren(QAbstractSpinBox) + screen.findChildren(QComboBox)
             if w.isVisible() and w.isEnabled()]
    assert found, "the screen has no field to try"
    return found


def assert_wheel_changes_nothing(screen) -> int:
    screen.setFocus()
    tried = 0
    for field in fields(screen):
        if isinstance(field, QComboBox) and field.count() < 2:
            continue
        before = value(field)
        wheel(field)
        wheel(field, +3)
        assert value(field) == before, f"{field.objectName() or type(field).__name__} changed"
        assert not field.hasFocus()
        # A real (spontaneous) wheel event first hands the focus to a WheelFocus widget, and
        # only then to the filters: no guarded field may take the focus from the wheel.
        assert field.focusPolicy() != Qt.FocusPolicy.WheelFocus
        tried += 1
    return tried


def test_hazard_deadline_keeps_its_date_and_the_page_scrolls(qtbot, store, inspection_id):
    """Scrolling the walk over 整改期限 leaves the deadline alone and scrolls the page."""
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.resize(1366, 600)
    win.show()
    win.open_inspection(inspection_id)
    walk = win.stack.currentWidget()
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    deadline = walk.hazard_panel.deadline
    before = deadline.date()
    scroll = next(a for a in walk.findChildren(QScrollArea) if a.isAncestorOf(deadline))
    scroll.verticalScrollBar().setValue(0)
    wheel(deadline)
    assert deadline.date() == before
    assert scroll.verticalScrollBar().value() > 0
    win.activateWindow()
    deadline.setFocus()  # a field the user is working in takes the wheel as usual
    qtbot.waitUntil(deadline.hasFocus)
    wheel(deadline, +1)
    assert deadline.date() != before


def test_no_screen_lets_the_wheel_change_a_field(qtbot, store, enterprise_id, team, clock):
    """Ledger, re-inspection (start and review), new inspection, enterprise and settings."""
    set_region(store)
    original, _hazards = ordered_case(store, enterprise_id, team, clock)
    clock.advance(days=61)
    tried = 0
    ledger = LedgerPage(store, None)
    ledger.by_date.setChecked(True)
    review = ReinspectionPage(store, None, original_id=original)
    screens = [ledger, review, NewInspectionDialog(store), EnterpriseDialog(store),
               SettingsDialog(store)]
    for screen in screens:
        qtbot.addWidget(screen)
        screen.resize(1366, 768)
        screen.show()
        tried += assert_wheel_changes_nothing(screen)
    review.start()
    review.table.selectRow(0)
    review.not_rectified.click()
    tried += assert_wheel_changes_nothing(review)
    assert tried >= 12
