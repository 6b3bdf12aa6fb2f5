"""Nothing typed is lost: every field saves within a second of the last key, and at once
before navigation, finalizing or closing — read back through a separate connection."""
from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDateTimeEdit, QPushButton

from models.paths import DB_FILENAME
from tests.models.test_ledger import ordered_case, set_region
from tests.ui.test_enterprise_page import type_chinese
from ui.main_window import MainWindow
from ui.reinspection_page import ReinspectionPage

PAST_THE_DELAY_MS = 1000  # the promise: on disk within one second of the last keystroke


def on_disk(store, sql: str, *params):
    """One value as another process would read it: a fresh sqlite3 connection on the file."""
    with closing(sqlite3.connect(store.data_dir / DB_FILENAME)) as conn:
        row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def note_on_disk(store, item_id):
    return on_disk(store, "SELECT note FROM answer WHERE item_id = ?", item_id.hex)


def audit_labels(store) -> list[str]:
    with closing(sqlite3.connect(store.data_dir / DB_FILENAME)) as conn:
        return [r[0] for r in conn.execute("SELECT label FROM audit_event ORDER BY seq")]


@pytest.fixture
def window(qtbot, store):
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    return win


@pytest.fixture
def walk(window, store, inspection_id):
    window.open_inspection(inspection_id)
    return window.stack.currentWidget()


def test_note_of_an_answered_item_is_on_disk_after_the_pause(qtbot, walk, store):
    """Answer, type a note, pause: the note is in the database and the audit says edit_note."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)  # 不符合 stays on the item
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "dust 3 mm")
    type_chinese(walk.note, "，积尘严重")
    qtbot.wait(PAST_THE_DELAY_MS)
    assert note_on_disk(store, item_id) == "dust 3 mm，积尘严重"
    assert "edit_note" in audit_labels(store)
    assert walk.save_state.text().startswith("已保存")


def test_note_typed_before_the_result_is_kept_too(qtbot, walk, store):
    """A note typed before 符合/不符合 is chosen is on disk after the pause, and the item
    still counts as unanswered."""
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "entrance sign missing")
    qtbot.wait(PAST_THE_DELAY_MS)
    assert note_on_disk(store, item_id) == "entrance sign missing"
    assert on_disk(store, "SELECT result FROM answer WHERE item_id = ?", item_id.hex) is None
    walk.reload()
    assert walk.items[0].result is None
    qtbot.keyClick(walk.note, Qt.Key.Key_Escape)  # back to the checklist
    assert walk.item_list.hasFocus()
    qtbot.keyClick(walk.item_list, Qt.Key.Key_1)
    assert on_disk(store, "SELECT result FROM answer WHERE item_id = ?", item_id.hex) == "compliant"
    assert note_on_disk(store, item_id) == "entrance sign missing"


def test_moving_on_at_once_saves_the_note(qtbot, walk, store):
    """Typing and moving to the next item without a pause loses nothing."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "no pause")
    qtbot.keyClick(walk.note, Qt.Key.Key_PageDown)
    assert walk.current.item.id != item_id
    assert note_on_disk(store, item_id) == "no pause"


def test_closing_the_window_at_once_saves_the_note(qtbot, window, walk, store):
    """Typing and closing the window straight away loses nothing."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "closed at once")
    window.close()
    assert note_on_disk(store, item_id) == "closed at once"


def test_hazard_edits_are_on_disk_after_the_pause(qtbot, walk, store):
    """隐患描述, 整改要求 and 整改期限 typed in the panel are in the database after the pause."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    panel = walk.hazard_panel
    hazard_id = walk.current.hazard.id
    panel.description.setFocus()
    panel.description.selectAll()
    qtbot.keyClicks(panel.description, "dust on beams")
    qtbot.wait(PAST_THE_DELAY_MS)
    assert on_disk(store, "SELECT description FROM hazard WHERE id = ?",
                   hazard_id.hex) == "dust on beams"
    panel.rectification.setFocus()
    qtbot.keyClick(panel.rectification, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(panel.rectification, " now")
    panel.deadline.setFocus()
    before = panel.deadline.date()
    panel.deadline.setCurrentSection(QDateTimeEdit.Section.DaySection)
    qtbot.keyClick(panel.deadline, Qt.Key.Key_Up)
    assert panel.deadline.date() == before.addDays(1)
    qtbot.wait(PAST_THE_DELAY_MS)
    assert on_disk(store, "SELECT rectification FROM hazard WHERE id = ?",
                   hazard_id.hex).endswith(" now")
    assert on_disk(store, "SELECT deadline FROM hazard WHERE id = ?",
                   hazard_id.hex) == before.addDays(1).toString("yyyy-MM-dd")
    assert "edit_hazard" in audit_labels(store)


def test_finalizing_saves_a_hazard_edit_typed_just_before(qtbot, walk, store, monkeypatch):
    """An edit typed a moment before 检查小结 is in the database when the summary shows."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    hazard_id = walk.current.hazard.id
    walk.hazard_panel.rectification.setFocus()
    qtbot.keyClick(walk.hazard_panel.rectification, Qt.Key.Key_End,
                   Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(walk.hazard_panel.rectification, " at once")
    qtbot.mouseClick(walk.summary_button, Qt.MouseButton.LeftButton)
    assert on_disk(store, "SELECT rectification FROM hazard WHERE id = ?",
                   hazard_id.hex).endswith(" at once")


@pytest.fixture
def review(qtbot, store, enterprise_id, team, clock):
    set_region(store)
    original, _hazards = ordered_case(store, enterprise_id, team, clock)
    clock.advance(days=61)
    page = ReinspectionPage(store, None, original_id=original)
    qtbot.addWidget(page)
    page.resize(1366, 700)
    page.show()
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    page.table.selectRow(0)
    return page


def test_reinspection_note_is_on_disk_after_the_pause_and_typing_goes_on(qtbot, review, store):
    """The 复查情况 note is saved after the pause; typing on afterwards appends, in order."""
    review.note.setFocus()
    qtbot.keyClicks(review.note, "moved out")
    qtbot.wait(PAST_THE_DELAY_MS)
    hazard = review.selected_hazard()
    assert on_disk(store, "SELECT note FROM hazard_review WHERE hazard_id = ?",
                   hazard.hex) == "moved out"
    qtbot.keyClicks(review.note, " and locked ")
    qtbot.wait(PAST_THE_DELAY_MS)
    qtbot.keyClicks(review.note, "up")
    qtbot.wait(PAST_THE_DELAY_MS)
    assert review.note.toPlainText() == "moved out and locked up"
    assert on_disk(store, "SELECT note FROM hazard_review WHERE hazard_id = ?",
                   hazard.hex) == "moved out and locked up"


def test_reinspection_note_typed_then_another_row_chosen_is_saved(qtbot, review, store):
    """Choosing the next hazard straight after typing keeps the note with the first one."""
    first = review.selected_hazard()
    review.note.setFocus()
    qtbot.keyClicks(review.note, "first one")
    review.table.selectRow(1)
    assert review.selected_hazard() != first
    assert on_disk(store, "SELECT note FROM hazard_review WHERE hazard_id = ?",
                   first.hex) == "first one"
    assert review.note.toPlainText() == ""


def test_going_to_another_page_at_once_saves_the_note(qtbot, window, walk, store):
    """Typing and clicking 隐患台账 in the navigation straight away loses nothing."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "off to the ledger")
    window.findChild(QPushButton, "nav_ledger").click()
    assert note_on_disk(store, item_id) == "off to the ledger"


def test_save_state_says_saved_with_beijing_time_and_failed_with_reason(qtbot, walk, store):
    """After the pause: 已保存 and the time in Asia/Shanghai (the test clock says 01:30 UTC);
    a deadline moved before the inspection date is refused: 保存失败 with the reason and what
    to do, and the stored deadline stays."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    panel = walk.hazard_panel
    hazard_id = walk.current.hazard.id
    stored = on_disk(store, "SELECT deadline FROM hazard WHERE id = ?", hazard_id.hex)
    panel.rectification.setFocus()
    qtbot.keyClicks(panel.rectification, "x")
    assert panel.save_state.text() == "正在保存…"
    qtbot.wait(PAST_THE_DELAY_MS)
    assert panel.save_state.text() == "已保存 09:30:00"
    panel.deadline.setFocus()
    panel.deadline.setCurrentSection(QDateTimeEdit.Section.YearSection)
    qtbot.keyClick(panel.deadline, Qt.Key.Key_Down)  # a year earlier: before the inspection
    qtbot.wait(PAST_THE_DELAY_MS)
    text = panel.save_state.text()
    assert text.startswith("保存失败：") and "整改期限不能早于检查日期" in text
    assert "改正后会自动再次保存" in text
    assert on_disk(store, "SELECT deadline FROM hazard WHERE id = ?", hazard_id.hex) == stored
    qtbot.keyClick(panel.deadline, Qt.Key.Key_Up)  # corrected: saved again by itself
    qtbot.wait(PAST_THE_DELAY_MS)
    assert panel.save_state.text().startswith("已保存")
