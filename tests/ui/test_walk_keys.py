"""The keyboard is never trapped in a note: the README's key list holds with a field open."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from models.inspection import AnswerResult
from tests.conftest import T0
from tests.ui.test_autosave import note_on_disk
from ui.main_window import MainWindow

ALT, CTRL = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def walk(qtbot, store, inspection_id):
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    win.activateWindow()
    win.open_inspection(inspection_id)
    return win.stack.currentWidget()


def test_esc_and_ctrl_enter_leave_a_field_for_the_checklist(qtbot, walk, store):
    """Esc in the note and Ctrl+Enter in the hazard text return the keys to the checklist,
    where 1/2/3 answer again; what was typed is saved."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    item_id = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "seen 2")
    qtbot.keyClick(walk.note, Qt.Key.Key_Escape)
    assert walk.item_list.hasFocus()
    assert note_on_disk(store, item_id) == "seen 2"
    walk.hazard_panel.description.setFocus()
    qtbot.keyClick(walk.hazard_panel.description, Qt.Key.Key_Return, CTRL)
    assert walk.item_list.hasFocus()
    assert "\n" not in walk.hazard_panel.description.toPlainText()


def test_tab_moves_focus_and_types_no_tab(qtbot, walk):
    """Tab in the note goes to the next field instead of inserting a tab character."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "a")
    qtbot.keyClick(walk.note, Qt.Key.Key_Tab)
    assert not walk.note.hasFocus()
    assert walk.note.toPlainText() == "a"
    walk.hazard_panel.description.setFocus()
    qtbot.keyClick(walk.hazard_panel.description, Qt.Key.Key_Tab)
    assert walk.hazard_panel.rectification.hasFocus()
    qtbot.keyClick(walk.hazard_panel.rectification, Qt.Key.Key_Tab, CTRL)
    assert not walk.hazard_panel.rectification.hasFocus()
    assert "\t" not in walk.hazard_panel.description.toPlainText()
    assert "\t" not in walk.hazard_panel.rectification.toPlainText()


def test_page_keys_and_alt_digits_work_inside_a_note(qtbot, walk, store):
    """With the cursor in the note: Alt+2 answers 不符合 (no digit typed), PgDn and PgUp move."""
    first = walk.current.item.id
    walk.note.setFocus()
    qtbot.keyClicks(walk.note, "x")
    qtbot.keyClick(walk.note, Qt.Key.Key_2, ALT)
    assert walk.current.result == AnswerResult.NONCOMPLIANT and walk.current.item.id == first
    assert walk.note.toPlainText() == "x"
    walk.note.setFocus()
    qtbot.keyClick(walk.note, Qt.Key.Key_PageDown)
    assert walk.index == 1
    walk.note.setFocus()
    qtbot.keyClick(walk.note, Qt.Key.Key_1, ALT)
    assert walk.items[1].result == AnswerResult.COMPLIANT
    assert walk.index == 2  # 符合 on a fresh item moves on, as the key 1 does
    walk.note.setFocus()
    qtbot.keyClick(walk.note, Qt.Key.Key_PageUp)
    qtbot.keyClick(walk.note, Qt.Key.Key_PageUp)
    assert walk.index == 0 and note_on_disk(store, first) == "x"


def test_digits_in_the_hazard_deadline_stay_in_the_field(qtbot, walk):
    """Typing a date's digits in 整改期限 does not answer the item."""
    qtbot.keyClick(walk.item_list, Qt.Key.Key_2)
    walk.hazard_panel.deadline.setFocus()
    qtbot.keyClick(walk.hazard_panel.deadline, Qt.Key.Key_3)
    assert walk.current.result == AnswerResult.NONCOMPLIANT


def test_photos_can_be_added_before_the_result_and_stay_with_the_item(qtbot, walk, store, tmp_path):
    """Evidence first: 添加照片 works on an unanswered item; choosing 符合 later, moving away
    and coming back, the photo is still the item's."""
    from sqlalchemy import select

    from models.demo import demo_photo
    from models.inspection import Answer, Photo
    first = walk.current.item.id
    assert walk.current.result is None and walk.photos.add_button.isEnabled()
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(demo_photo("IMG_0001.jpg", T0))
    with qtbot.waitSignal(walk.photos.ingest.finished, timeout=15_000):
        walk.photos.add_files([path])
    assert walk.photos.model.rowCount() == 1
    assert walk.current.result is None and walk.index == 0  # still unanswered, still here
    qtbot.keyClick(walk.item_list, Qt.Key.Key_1)
    assert walk.index == 1 and walk.photos.model.rowCount() == 0
    qtbot.keyClick(walk.item_list, Qt.Key.Key_PageUp)
    assert walk.photos.model.rowCount() == 1 and walk.current.photo_count == 1
    with store.session() as s:
        answer = s.scalar(select(Answer).where(Answer.item_id == first))
        assert answer.result == AnswerResult.COMPLIANT
        assert [p.answer_id for p in s.scalars(select(Photo))] == [answer.id]
