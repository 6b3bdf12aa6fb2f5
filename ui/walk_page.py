"""The guided walk: one item at a time, big answer buttons, every change saved at once."""
from __future__ import annotations

import uuid

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QHBoxLayout, QLabel, QLineEdit,
                               QListView, QPlainTextEdit, QPushButton, QScrollArea,
                               QStackedWidget, QTextEdit, QVBoxLayout, QWidget)

from models.base import utcnow
from models.errors import FieldCheckError
from models.inspection import AnswerResult
from models.inspection_rules import (answer_item, get_inspection, item_answer, save_note,
                                    set_current_item)
from models.local_time import agency_text
from models.walk_queries import walk_items
from ui.delayed_save import DelayedSave, SaveStateLabel
from ui.hazard_panel import HazardPanel
from ui.messages import show_error
from ui.photo_strip import PhotoStrip
from ui.summary_view import SummaryView
from ui.walk_models import ItemListModel
from ui.walk_widgets import AnswerButtons, ChecklistProgress, ItemText

KEY_RESULTS = {Qt.Key.Key_1: AnswerResult.COMPLIANT, Qt.Key.Key_2: AnswerResult.NONCOMPLIANT,
               Qt.Key.Key_3: AnswerResult.NOT_APPLICABLE}
_TEXT_INPUTS = (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox)
_NO_MOD, _CTRL = Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ControlModifier
_LEAVE_KEYS = {(Qt.Key.Key_Escape, _NO_MOD), (Qt.Key.Key_Return, _CTRL),
               (Qt.Key.Key_Enter, _CTRL)}


class WalkKeys(QObject):
    """1/2/3 answer, arrows move — except while typing in a text field. Anywhere in the walk,
    even in a note: PgUp/PgDn move, Alt+1/2/3 answer, Esc or Ctrl+Enter back to the checklist."""

    def __init__(self, page: WalkPage) -> None:
        super().__init__(page)
        self.page = page

    def eventFilter(self, watched, event) -> bool:
        if event.type() != QEvent.Type.KeyPress or not self.page.isVisible():
            return False
        if not isinstance(watched, QWidget) or not (
                watched is self.page or self.page.isAncestorOf(watched)):
            return False
        key = event.key()
        modified = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) and modified == _NO_MOD:
            return self.page.handle_key(key)
        if modified == Qt.KeyboardModifier.AltModifier and key in KEY_RESULTS:
            return self.page.handle_key(key)
        # The receiver is where the typing goes (also when the window is not the active one).
        if isinstance(watched, _TEXT_INPUTS) or isinstance(QApplication.focusWidget(),
                                                           _TEXT_INPUTS):
            if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab) and modified & _CTRL:
                return self.page.focusNextPrevChild(key == Qt.Key.Key_Tab)  # Ctrl+Tab leaves too
            return (key, modified) in _LEAVE_KEYS and self.page.leave_field()
        return modified == _NO_MOD and self.page.handle_key(key)


class WalkPage(QWidget):
    def __init__(self, store, inspection_id: uuid.UUID, main_window) -> None:
        super().__init__()
        self.store, self.inspection_id, self.main_window = store, inspection_id, main_window
        with store.session() as s:
            inspection = get_inspection(s, inspection_id)
            self.read_only = inspection.is_finalized
            self.actor = "、".join(m.inspector.name for m in inspection.team)
            header = (f"{inspection.enterprise.name} · {inspection.place} · "
                      f"{agency_text(inspection.started_at)} · {self.actor}")
            start_item = inspection.current_item_id
        self.items = []
        self.index = 0
        self._build(header)
        self._keys = WalkKeys(self)
        QApplication.instance().installEventFilter(self._keys)
        self.reload()
        first_open = next((i for i, w in enumerate(self.items) if w.result is None), 0)
        self.go_to_item(start_item) if start_item else self.show_index(first_open)
        if self.read_only:
            self.show_summary()  # a finalized case opens on its summary and documents

    # Layout -----------------------------------------------------------------
    def _build(self, header: str) -> None:
        self.header = QLabel(header)
        self.header.setStyleSheet("font-size: 13pt; font-weight: bold;")
        self.header.setWordWrap(True)
        self.read_only_label = QLabel("已定稿 · 只读")
        self.read_only_label.setStyleSheet("color: white; background: #546e7a; padding: 4px 10px;")
        self.read_only_label.setVisible(self.read_only)
        self.progress = ChecklistProgress()
        self.list_model = ItemListModel()
        self.item_list = QListView()
        self.item_list.setModel(self.list_model)
        self.item_list.setFixedWidth(330)
        self.item_list.setWordWrap(False)
        self.item_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.item_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.item_list.setUniformItemSizes(True)
        self.item_list.clicked.connect(lambda idx: self.show_index(idx.row()))
        self.item_text = ItemText()
        self.answer_buttons = AnswerButtons()
        self.answer_buttons.answered.connect(self.answer)
        self.note = QPlainTextEdit()
        self.note.setObjectName("note")
        self.note.setPlaceholderText("现场情况说明（可先于检查结果填写；Esc 返回检查项列表）")
        self.note.setFixedHeight(64)
        self.note.setTabChangesFocus(True)
        self.note_save = DelayedSave(self._write_note, self, now=self.store.clock or utcnow)
        self.note_save.flush_on_focus_out(self.note)
        self.note.textChanged.connect(self.note_save.touch)
        self.save_state = SaveStateLabel(self.note_save)
        self.hazard_panel = HazardPanel(self.store, self.actor)
        self.hazard_panel.saved.connect(self.reload)
        self.photos = PhotoStrip(self.store, self.inspection_id, self, actor=self.actor)
        self.photos.set_read_only(self.read_only)
        self.photos.set_answer_maker(self._record_answer)  # photos before the result, too
        self.photos.photos_changed.connect(self.reload)
        self.stack = QStackedWidget()
        self.stack.addWidget(self._item_view())
        self.summary = SummaryView(self.store, self.inspection_id, self.actor)
        self.summary.jump_to_item.connect(self.go_to_item)
        self.summary.back.connect(lambda: self.stack.setCurrentIndex(0))
        self.summary.finalized.connect(self._after_finalize)
        self.stack.addWidget(self.summary)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.read_only_label)
        body = QHBoxLayout()
        body.addWidget(self.item_list)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(body, 1)

    def _item_view(self) -> QWidget:
        panel = QWidget()
        inner = QVBoxLayout(panel)
        inner.addWidget(self.item_text)
        inner.addWidget(self.answer_buttons)
        inner.addWidget(self.note)
        inner.addWidget(self.save_state)
        inner.addWidget(self.hazard_panel)
        inner.addWidget(self.photos)
        inner.addStretch()
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.prev_button = QPushButton("◀ 上一项 (PgUp)")
        self.next_button = QPushButton("下一项 (PgDn) ▶")
        self.summary_button = QPushButton("检查小结 / 定稿")
        self.summary_button.setObjectName("show_summary")
        self.summary_button.setProperty("role", "primary")
        self.prev_button.clicked.connect(lambda: self.show_index(self.index - 1))
        self.next_button.clicked.connect(lambda: self.show_index(self.index + 1))
        self.summary_button.clicked.connect(self.show_summary)
        self.position_label = QLabel()
        nav = QHBoxLayout()
        for widget in (self.prev_button, self.position_label, self.next_button):
            nav.addWidget(widget)
        nav.addStretch()
        nav.addWidget(self.summary_button)
        view = QWidget()
        outer = QVBoxLayout(view)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        outer.addLayout(nav)
        return view

    # State ------------------------------------------------------------------
    @property
    def current(self):
        return self.items[self.index]

    def reload(self) -> None:
        with self.store.session() as s:
            self.items = walk_items(s, self.inspection_id)
        self.list_model.set_rows(self.items)
        self.progress.show_items(self.items)
        if self.items:
            self.item_list.setCurrentIndex(self.list_model.index(self.index))

    def go_to_item(self, item_id: uuid.UUID) -> None:
        index = next((i for i, w in enumerate(self.items) if w.item.id == item_id), 0)
        self.stack.setCurrentIndex(0)
        self.show_index(index)

    def show_index(self, index: int) -> None:
        if not self.items or not 0 <= index < len(self.items):
            return
        self.save_pending()
        self.index = index
        walk = self.current
        self.item_text.show_item(walk.item, index + 1, len(self.items))
        self.answer_buttons.show_result(walk.result, enabled=not self.read_only)
        with self.note_save.paused():
            self.note.setPlainText(walk.answer.note if walk.answer else "")
        self.note.setReadOnly(self.read_only)
        self.hazard_panel.show_hazard(walk.hazard, self.read_only)
        self.photos.set_target(walk.answer.id if walk.answer else None,
                               walk.hazard.id if walk.hazard else None)
        self.position_label.setText(f"第 {index + 1} / {len(self.items)} 项")
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(self.items) - 1)
        self.item_list.setCurrentIndex(self.list_model.index(index))
        if not self.read_only:
            with self.store.transaction() as s:
                set_current_item(s, self.inspection_id, walk.item.id)

    # Actions ----------------------------------------------------------------
    def handle_key(self, key) -> bool:
        if self.stack.currentIndex() != 0:
            return False
        if key in KEY_RESULTS:
            self.answer(KEY_RESULTS[key])
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_Down, Qt.Key.Key_Right):
            self.show_index(self.index + 1)
        elif key in (Qt.Key.Key_PageUp, Qt.Key.Key_Up, Qt.Key.Key_Left):
            self.show_index(self.index - 1)
        else:
            return False
        return True

    def answer(self, result: AnswerResult) -> None:
        if self.read_only or not self.items:
            return
        walk = self.current
        was_open = walk.result is None
        try:
            with self.store.transaction(actor=self.actor, label="answer_item") as s:
                answer_item(s, self.inspection_id, walk.item.id, result, self.note.toPlainText())
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.note_save.discard()  # the note went in with the answer
        self.reload()
        # 符合/不适用 on a fresh item moves on; 不符合 stays so the hazard can be completed.
        if was_open and result != AnswerResult.NONCOMPLIANT and self.index < len(self.items) - 1:
            self.show_index(self.index + 1)
        else:
            self.show_index(self.index)

    def _write_note(self) -> None:
        """The note of the item on screen (flushed before the screen shows another item)."""
        walk = self.current
        with self.store.transaction(actor=self.actor, label="edit_note") as s:
            answer_id = save_note(s, self.inspection_id, walk.item.id, self.note.toPlainText()).id
        if walk.answer is None:  # a note before the result: photos may now join it too
            self.reload()
            self.photos.set_target(answer_id, None)

    def _record_answer(self):
        """The current item's answer (without a result until one is chosen), for photos."""
        with self.store.transaction(actor=self.actor, label="attach_photo") as s:
            answer_id = item_answer(s, self.inspection_id, self.current.item.id).id
        self.reload()
        return answer_id

    def leave_field(self) -> bool:
        """Esc / Ctrl+Enter in a field: write it, and give the keys back to the checklist."""
        if self.stack.currentIndex() != 0:
            return False
        self.save_pending()
        self.item_list.setFocus()
        return True

    def show_summary(self) -> None:
        self.save_pending()
        self.summary.refresh()
        self.stack.setCurrentIndex(1)

    def _after_finalize(self) -> None:
        self.main_window.open_inspection(self.inspection_id)
        self.main_window.stack.currentWidget().show_summary()

    def showEvent(self, event) -> None:
        # Keys 1/2/3 and the arrows work at once, without a click into the page first.
        super().showEvent(event)
        self.item_list.setFocus()

    def save_pending(self) -> None:
        """Write edits still waiting for their typing pause (window closing, page leaving)."""
        self.note_save.flush()
        self.hazard_panel.save_now()

    def deleteLater(self) -> None:
        self.save_pending()
        QApplication.instance().removeEventFilter(self._keys)
        super().deleteLater()

