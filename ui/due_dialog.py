"""At start: the re-inspections due within N days (设置：复查提醒天数) and those overdue."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QTableView, QVBoxLayout)

from models.ledger import DueList, due_days_setting, due_list
from ui.ledger_models import DueTableModel
from ui.ledger_page import today_of


SIZING_ROWS = 60


def _table(model) -> QTableView:
    table = QTableView()
    table.setModel(model)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(34)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    # Sized by the first rows, not all of them (Qt's default is 1000 rows: 0.4 s of cell
    # reads at office scale before the reminder could show); the rest are alike.
    header.setResizeContentsPrecision(SIZING_ROWS)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(DueTableModel.COL_ITEM, QHeaderView.ResizeMode.Stretch)
    return table


class DueDialog(QDialog):
    """Lists what needs re-inspecting; 「打开隐患台账」 goes there filtered to 待复查＋逾期."""

    open_ledger = Signal()

    def __init__(self, store, parent=None, due: DueList | None = None) -> None:
        super().__init__(parent)
        self.store = store
        today = today_of(store)
        with store.session() as s:
            self.days = due_days_setting(s)
            self.due = due if due is not None else due_list(s, today, self.days)
        self.setWindowTitle("到期复查提醒")
        self.resize(1000, 560)
        self.overdue_model, self.soon_model = DueTableModel(today, self), DueTableModel(today, self)
        self.overdue_model.set_rows(self.due.overdue)
        self.soon_model.set_rows(self.due.due_soon)
        self.overdue_label = QLabel(f"已逾期 {len(self.due.overdue)} 项")
        self.overdue_label.setStyleSheet("color: #c62828; font-weight: bold; font-size: 13pt;")
        self.soon_label = QLabel(f"{self.days} 日内到期 {len(self.due.due_soon)} 项")
        self.soon_label.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.ledger_button = QPushButton("打开隐患台账")
        self.ledger_button.setProperty("role", "primary")
        self.close_button = QPushButton("知道了")
        self.ledger_button.clicked.connect(self._to_ledger)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.ledger_button)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("以下隐患的整改期限已过或即将到期，请安排复查："))
        layout.addWidget(self.overdue_label)
        layout.addWidget(_table(self.overdue_model), 1)
        layout.addWidget(self.soon_label)
        layout.addWidget(_table(self.soon_model), 1)
        layout.addLayout(buttons)

    def _to_ledger(self) -> None:
        self.accept()
        self.open_ledger.emit()


def show_due_on_start(store, main_window) -> DueDialog | None:
    """Open the reminder (window-modal, no nested loop) when anything is due; else nothing."""
    dialog = DueDialog(store, main_window)
    if not dialog.due:
        dialog.deleteLater()
        return None
    if hasattr(main_window, "show_ledger"):
        dialog.open_ledger.connect(lambda: main_window.show_ledger(due_only=True))
    dialog.finished.connect(lambda _r: dialog.deleteLater())
    dialog.open()
    return dialog
