"""Qt models for the guided walk: the side list of items and the summary's hazard table."""
from __future__ import annotations

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from models.inspection import AnswerResult, Hazard
from models.walk_queries import WalkItem
from ui.style import GREEN, GREY, RED
from ui.table_model import RowTableModel

STATE_MARK = {None: "○", AnswerResult.COMPLIANT: "✓", AnswerResult.NONCOMPLIANT: "✗",
              AnswerResult.NOT_APPLICABLE: "—"}
STATE_COLOUR = {None: "#37474f", AnswerResult.COMPLIANT: GREEN,
                AnswerResult.NONCOMPLIANT: RED, AnswerResult.NOT_APPLICABLE: GREY}
ItemIdRole = Qt.ItemDataRole.UserRole + 1


class ItemListModel(QAbstractListModel):
    """Every item of the inspection with its state: ○ open, ✓ 符合, ✗ 不符合, — 不适用."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[WalkItem] = []

    def set_rows(self, rows: list[WalkItem]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        walk = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            major = " ★" if walk.item.major else ""
            return f"{STATE_MARK[walk.result]}  {walk.item.code}{major}  {walk.item.question}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(STATE_COLOUR[walk.result])
        if role == Qt.ItemDataRole.ToolTipRole:
            label = walk.result.label if walk.result else "未回答"
            return f"{walk.item.code}（{label}）\n{walk.item.question}"
        if role == Qt.ItemDataRole.FontRole and walk.result == AnswerResult.NONCOMPLIANT:
            font = QFont()
            font.setBold(True)
            return font
        if role == ItemIdRole:
            return walk.item.id
        return None


class HazardTableModel(RowTableModel):
    """The summary's hazards, major first, with their deadlines."""

    COL_KIND, COL_CODE, COL_DESCRIPTION, COL_DEADLINE = range(4)
    HEADERS = ("类别", "检查项", "隐患描述", "整改期限")

    def hazard_at(self, row: int) -> Hazard:
        return self.rows[row]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        hazard = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (f"重大（{hazard.major_clause.removeprefix('《工贸企业重大事故隐患判定标准》')}）"
                    if hazard.is_major else "一般",
                    hazard.item.code, hazard.description,
                    f"{hazard.deadline:%Y-%m-%d}")[col]
        if role == Qt.ItemDataRole.ForegroundRole and hazard.is_major and col == self.COL_KIND:
            return QColor(RED)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_DESCRIPTION:
            return hazard.description
        return None
