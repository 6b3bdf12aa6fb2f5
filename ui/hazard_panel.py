"""The hazard form that opens under a 不符合 answer; every edit is saved as it is made."""
from __future__ import annotations

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (QDateEdit, QFormLayout, QFrame, QHBoxLayout, QLabel,
                               QPlainTextEdit, QVBoxLayout, QWidget)

from models.base import utcnow
from models.inspection import Hazard
from models.inspection_rules import update_hazard
from ui.delayed_save import DelayedSave, SaveStateLabel


class HazardPanel(QWidget):
    saved = Signal()

    def __init__(self, store, actor: str, parent=None) -> None:
        super().__init__(parent)
        self.store, self.actor = store, actor
        self.hazard_id = None
        self.saver = DelayedSave(self._write, self, now=store.clock or utcnow)
        self.saver.written.connect(self.saved)
        self.banner = QFrame()
        self.banner.setProperty("role", "majorBanner")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        QVBoxLayout(self.banner).addWidget(self.banner_label)
        self.description = QPlainTextEdit()
        self.rectification = QPlainTextEdit()
        for edit in (self.description, self.rectification):
            edit.setFixedHeight(72)
            edit.setTabChangesFocus(True)
            edit.textChanged.connect(self.saver.touch)
        self.deadline = QDateEdit()
        self.deadline.setCalendarPopup(True)
        self.deadline.setDisplayFormat("yyyy年M月d日")
        self.deadline.dateChanged.connect(self.saver.touch)
        self.saver.flush_on_focus_out(self.description, self.rectification, self.deadline)
        self.save_state = SaveStateLabel(self.saver)
        title = QLabel("隐患")
        title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        head = QHBoxLayout()
        head.addWidget(title)
        head.addWidget(self.save_state, 1)
        form = QFormLayout()
        form.addRow("隐患描述", self.description)
        form.addRow("整改要求", self.rectification)
        form.addRow("整改期限", self.deadline)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.banner)
        layout.addLayout(form)

    def show_hazard(self, hazard: Hazard | None, read_only: bool) -> None:
        saved = self.save_now()
        if saved and (hazard.id if hazard else None) != self.hazard_id:
            self.saver.reset()  # the label spoke of the previous hazard (a failure stays told)
        self.hazard_id = hazard.id if hazard else None
        self.setVisible(hazard is not None)
        if hazard is None:
            return
        with self.saver.paused():
            self.banner.setVisible(hazard.is_major)
            self.banner_label.setText(f"重大事故隐患 —— 依据{hazard.major_clause}")
            self.description.setPlainText(hazard.description)
            self.rectification.setPlainText(hazard.rectification)
            self.deadline.setDate(QDate(hazard.deadline.year, hazard.deadline.month,
                                        hazard.deadline.day))
        for widget in (self.description, self.rectification):
            widget.setReadOnly(read_only)
        self.deadline.setReadOnly(read_only)

    def save_now(self) -> bool:
        """Write pending edits now (also called before moving to another item)."""
        return self.saver.flush()

    def _write(self) -> None:
        if self.hazard_id is None:
            return
        with self.store.transaction(actor=self.actor, label="edit_hazard") as s:
            update_hazard(s, self.hazard_id, description=self.description.toPlainText(),
                          rectification=self.rectification.toPlainText(),
                          deadline=self.deadline.date().toPython())
