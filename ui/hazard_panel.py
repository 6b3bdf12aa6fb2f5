"""The hazard form that opens under a 不符合 answer; every edit is saved as it is made."""
from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QTimer, Signal
from PySide6.QtWidgets import (QDateEdit, QFormLayout, QFrame, QLabel, QPlainTextEdit,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from models.inspection import Hazard
from models.inspection_rules import update_hazard

SAVE_DELAY_MS = 600


class HazardPanel(QWidget):
    saved = Signal()

    def __init__(self, store, actor: str, parent=None) -> None:
        super().__init__(parent)
        self.store, self.actor = store, actor
        self.hazard_id = None
        self._loading = False
        self.banner = QFrame()
        self.banner.setProperty("role", "majorBanner")
        self.banner_label = QLabel()
        self.banner_label.setWordWrap(True)
        QVBoxLayout(self.banner).addWidget(self.banner_label)
        self.description = QPlainTextEdit()
        self.rectification = QPlainTextEdit()
        for edit in (self.description, self.rectification):
            edit.setFixedHeight(72)
            edit.textChanged.connect(self._schedule_save)
        self.deadline = QDateEdit()
        self.deadline.setCalendarPopup(True)
        self.deadline.setDisplayFormat("yyyy年M月d日")
        self.deadline.dateChanged.connect(self._schedule_save)
        self.error = QLabel()
        self.error.setProperty("role", "fieldError")
        self._timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._timer.timeout.connect(self.save_now)
        title = QLabel("隐患")
        title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        form = QFormLayout()
        form.addRow("隐患描述", self.description)
        form.addRow("整改要求", self.rectification)
        form.addRow("整改期限", self.deadline)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addWidget(self.error)

    def show_hazard(self, hazard: Hazard | None, read_only: bool) -> None:
        self.save_now()
        self.hazard_id = hazard.id if hazard else None
        self.setVisible(hazard is not None)
        if hazard is None:
            return
        self._loading = True
        self.banner.setVisible(hazard.is_major)
        self.banner_label.setText(f"重大事故隐患 —— 依据{hazard.major_clause}")
        self.description.setPlainText(hazard.description)
        self.rectification.setPlainText(hazard.rectification)
        self.deadline.setDate(QDate(hazard.deadline.year, hazard.deadline.month, hazard.deadline.day))
        for widget in (self.description, self.rectification):
            widget.setReadOnly(read_only)
        self.deadline.setReadOnly(read_only)
        self.error.clear()
        self._loading = False

    def _schedule_save(self) -> None:
        if not self._loading and self.hazard_id is not None:
            self._timer.start()

    def save_now(self) -> None:
        """Write pending edits now (also called before moving to another item)."""
        if not self._timer.isActive() or self.hazard_id is None:
            return
        self._timer.stop()
        qdate = self.deadline.date()
        try:
            with self.store.transaction(actor=self.actor, label="edit_hazard") as s:
                update_hazard(s, self.hazard_id, description=self.description.toPlainText(),
                              rectification=self.rectification.toPlainText(),
                              deadline=date(qdate.year(), qdate.month(), qdate.day()))
        except FieldCheckError as exc:
            self.error.setText(exc.text())
            return
        self.error.clear()
        self.saved.emit()
