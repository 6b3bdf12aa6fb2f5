"""交办… : the office assigns a major hazard to a department or township (乡镇/街道), with its
own deadline and a note. A hazard already assigned is re-assigned: the earlier 交办 stays on
record and is listed here (models.assignment_rules decides what may be saved)."""
from __future__ import annotations

from datetime import date, timedelta
from html import escape

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout,
                               QLabel, QPlainTextEdit, QVBoxLayout)

from models.assignment_rules import Assignment, assign_hazard
from models.errors import FieldCheckError
from models.ledger import LedgerRow
from ui.messages import show_error
from ui.plain_text import rich

DEFAULT_DAYS = 30  # a first 交办's deadline, when the order's is already past


class AssignDialog(QDialog):
    def __init__(self, parent, store, row: LedgerRow, today: date, suggestions: list[str],
                 history: list[Assignment]) -> None:
        super().__init__(parent)
        self.store, self.row, self.today = store, row, today
        self.saved: Assignment | None = None
        self.setWindowTitle("交办重大事故隐患" if not history else "重新交办（原交办保留）")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        head = rich(QLabel(f"<b>{escape(row.enterprise)}</b><br>{escape(row.item_code)} "
                           f"{escape(row.description)}<br><span style='color:#757575'>"
                           f"{escape(row.major_clause)}</span>"))
        head.setWordWrap(True)
        layout.addWidget(head)
        form = QFormLayout()
        self.assignee = QComboBox()
        self.assignee.setEditable(True)
        self.assignee.addItems(suggestions)
        self.assignee.setCurrentText(history[-1].assignee if history else "")
        self.assignee.lineEdit().setPlaceholderText("部门或乡镇/街道，如 月山镇人民政府")
        self.assignee.setMinimumHeight(40)
        form.addRow("责任单位：", self.assignee)
        self.deadline = QDateEdit()
        self.deadline.setCalendarPopup(True)
        self.deadline.setDisplayFormat("yyyy-MM-dd")
        self.deadline.setMinimumHeight(40)
        self.deadline.setMinimumDate(QDate(today.year, today.month, today.day))
        first = row.deadline if row.deadline >= today else today + timedelta(days=DEFAULT_DAYS)
        self.deadline.setDate(history[-1].deadline if history and history[-1].deadline >= today
                              else first)
        form.addRow("交办期限：", self.deadline)
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("交办要求，如：请督促企业立即停止使用相关设施，整改完成后报局复查")
        self.note.setFixedHeight(96)
        self.note.setTabChangesFocus(True)
        form.addRow("说明：", self.note)
        layout.addLayout(form)
        if history:
            lines = [f"第 {a.round} 次　{a.assigned_on.isoformat()}　{a.assignee}　期限 "
                     f"{a.deadline.isoformat()}" + (f"　{a.note}" if a.note else "")
                     for a in history]
            earlier = QLabel("此前的交办（保留在记录中）：\n" + "\n".join(lines))
            earlier.setTextFormat(Qt.TextFormat.PlainText)
            earlier.setWordWrap(True)
            layout.addWidget(earlier)
        self.buttons = QDialogButtonBox()
        self.ok = self.buttons.addButton("交办" if not history else "重新交办",
                                         QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok.setProperty("role", "primary")
        self.buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def accept(self) -> None:
        """Saved, or the reason shown and the dialog kept open with what was typed."""
        try:
            with self.store.transaction(actor="办公室", label="assign_hazard") as s:
                self.saved = assign_hazard(s, self.row.id, to=self.assignee.currentText(),
                                           deadline=self.deadline.date().toPython(),
                                           note=self.note.toPlainText(), assigned_by="办公室")
        except FieldCheckError as exc:
            show_error(self, exc, "未能交办")
            return
        super().accept()
