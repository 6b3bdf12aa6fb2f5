"""The guided walk as an inspector uses it: keys, hazards, summary, finalize, resume."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

import ui.summary_view
import ui.app
from models.inspection import Answer, AnswerResult, Hazard, HazardStatus, Inspection, InspectionStatus
from models.inspection_rules import answer_item, inspection_items
from ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, store):
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.show()
    return win


@pytest.fixture
def always_yes(monkeypatch):
    """The user answers every confirmation with yes; the question is recorded."""
    asked = []

    def confirm(parent, title, text, yes="确定", no="取消"):
        asked.append(text)
        return True
    monkeypatch.setattr(ui.summary_view, "confirm", confirm)
    monkeypatch.setattr(ui.app, "confirm", confirm)
    return asked


def _walk(window, inspection_id):
    window.open_inspection(inspection_id)
    return window.stack.currentWidget()


def _answers(store, inspection_id):
    with store.session() as s:
        return {a.item_id: a.result for a in s.scalars(
            select(Answer).where(Answer.inspection_id == inspection_id))}


def test_keyboard_alone_answers_every_item(qtbot, window, store, inspection_id):
    """Pressing 1 on each item answers it 符合 and moves on, until all are answered."""
    page = _walk(window, inspection_id)
    total = len(page.items)
    for _ in range(total):
        qtbot.keyClick(page.item_list, Qt.Key.Key_1)
    answers = _answers(store, inspection_id)
    assert len(answers) == total and set(answers.values()) == {AnswerResult.COMPLIANT}
    assert page.progress.bars["dust"].value() == page.progress.bars["dust"].maximum()


def test_arrows_and_pages_move_and_3_marks_not_applicable(qtbot, window, store, inspection_id):
    """PgDn/PgUp and arrows move between items; 3 answers 不适用."""
    page = _walk(window, inspection_id)
    qtbot.keyClick(page.item_list, Qt.Key.Key_PageDown)
    qtbot.keyClick(page.item_list, Qt.Key.Key_Down)
    assert page.index == 2
    qtbot.keyClick(page.item_list, Qt.Key.Key_Up)
    assert page.index == 1
    qtbot.keyClick(page.item_list, Qt.Key.Key_3)
    assert _answers(store, inspection_id)[page.items[1].item.id] == AnswerResult.NOT_APPLICABLE
    assert page.index == 2  # moved on


def test_typing_digits_in_the_note_does_not_answer(qtbot, window, store, inspection_id):
    """Digits typed into the note are text, not answers."""
    page = _walk(window, inspection_id)
    page.note.setFocus()
    qtbot.keyClicks(page.note, "dust 3 mm, 2 bags")  # QTest types ASCII only
    assert _answers(store, inspection_id) == {}
    qtbot.mouseClick(page.answer_buttons.buttons[AnswerResult.NONCOMPLIANT], Qt.MouseButton.LeftButton)
    with store.session() as s:
        assert s.scalars(select(Answer.note)).one() == "dust 3 mm, 2 bags"


def test_noncompliance_opens_hazard_panel_with_major_banner(qtbot, window, store, inspection_id):
    """不符合 on a major item shows the red banner with the clause and the prefilled hazard."""
    page = _walk(window, inspection_id)
    major_index = next(i for i, w in enumerate(page.items) if w.item.major)
    page.show_index(major_index)
    qtbot.keyClick(page.item_list, Qt.Key.Key_2)
    panel = page.hazard_panel
    assert panel.isVisible() and panel.banner.isVisible()
    assert page.items[major_index].item.major_clause in panel.banner_label.text()
    assert panel.rectification.toPlainText() == page.items[major_index].item.rectification
    assert page.index == major_index  # stays to complete the hazard
    panel.rectification.setPlainText("立即停止相关作业，三日内完成整改")
    panel.save_now()
    with store.session() as s:
        hazard = s.scalars(select(Hazard)).one()
        assert hazard.is_major and hazard.rectification == "立即停止相关作业，三日内完成整改"
    qtbot.keyClick(page.item_list, Qt.Key.Key_1)  # changed back: hazard withdrawn, panel hidden
    assert not panel.isVisible()
    with store.session() as s:
        assert s.scalars(select(Hazard.status)).one() == HazardStatus.WITHDRAWN


def test_summary_lists_blockers_then_finalizes_read_only(qtbot, window, store, inspection_id, always_yes):
    """The summary names what blocks; once done, finalizing makes the walk read-only."""
    page = _walk(window, inspection_id)
    qtbot.keyClick(page.item_list, Qt.Key.Key_2)
    qtbot.mouseClick(page.summary_button, Qt.MouseButton.LeftButton)
    summary = page.summary
    assert summary.blockers.count() == len(page.items) - 1
    assert not summary.finalize_button.isEnabled()
    assert "隐患 1 项" in summary.counts.text()
    # Clicking a blocker jumps to its item.
    entry = summary.blockers.item(0)
    summary.blockers.itemClicked.emit(entry)
    assert page.stack.currentIndex() == 0 and page.index == 1
    for _ in range(len(page.items) - 1):
        qtbot.keyClick(page.item_list, Qt.Key.Key_1)
    page.show_summary()
    assert summary.finalize_button.isEnabled() and summary.blockers.count() == 0
    qtbot.mouseClick(summary.finalize_button, Qt.MouseButton.LeftButton)
    assert always_yes and "不能再修改" in always_yes[0]
    with store.session() as s:
        assert s.get(Inspection, inspection_id).status == InspectionStatus.FINALIZED
    reopened = window.stack.currentWidget()
    assert reopened.read_only and reopened.read_only_label.isVisible()
    assert not reopened.answer_buttons.buttons[AnswerResult.COMPLIANT].isEnabled()
    before = _answers(store, inspection_id)
    qtbot.keyClick(reopened.item_list, Qt.Key.Key_2)
    assert _answers(store, inspection_id) == before


def test_resume_offers_the_open_inspection_at_the_same_item(qtbot, store, inspection_id, always_yes):
    """After quitting mid-walk, the next start offers to continue at the item where it stopped."""
    first = MainWindow(store)
    qtbot.addWidget(first)
    first.show()
    page = _walk(first, inspection_id)
    for _ in range(4):
        qtbot.keyClick(page.item_list, Qt.Key.Key_1)
    qtbot.keyClick(page.item_list, Qt.Key.Key_2)  # on item 5, stays there
    page.note.setPlainText("入口未设警示标志")
    stopped_at = page.current.item.id
    first.close()
    first.deleteLater()
    second = MainWindow(store)
    qtbot.addWidget(second)
    second.show()
    ui.app.offer_resume(store, second)
    assert "尚未完成" in always_yes[-1]
    resumed = second.stack.currentWidget()
    assert resumed.current.item.id == stopped_at
    assert resumed.current.result == AnswerResult.NONCOMPLIANT
    assert resumed.note.toPlainText() == "入口未设警示标志"
    assert sum(w.answer is not None for w in resumed.items) == 5


def test_item_list_model(qtmodeltester, store, inspection_id):
    """The side list model behaves as a Qt model should."""
    from models.walk_queries import walk_items
    from ui.walk_models import ItemListModel
    with store.transaction() as s:
        item = inspection_items(s, inspection_id)[0]
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
    model = ItemListModel()
    with store.session() as s:
        model.set_rows(walk_items(s, inspection_id))
    qtmodeltester.check(model)
    assert model.data(model.index(0)).startswith("✗")


def test_keys_work_right_after_opening(qtbot, window, store, inspection_id):
    """Opening an inspection puts the keyboard on the walk: 1 answers without a click first."""
    window.activateWindow()
    page = _walk(window, inspection_id)
    qtbot.waitUntil(lambda: page.item_list.hasFocus() or not window.isActiveWindow(), timeout=2000)
    focused = window.focusWidget()
    assert focused is page.item_list
    qtbot.keyClick(focused, Qt.Key.Key_1)
    assert len(_answers(store, inspection_id)) == 1
