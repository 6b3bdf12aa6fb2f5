"""Qt models of the office page: the major hazards with their 交办, the statistics' tallies."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from models.assignment_rules import ASSIGNMENT_CLOSED, ASSIGNMENT_OVERDUE, NOT_ASSIGNED
from models.ledger import LedgerRow
from ui.ledger_models import STATUS_COLOURS, _bold, _RowsModel
from ui.style import GREEN, GREY, RED

ASSIGNMENT_COLOURS = {ASSIGNMENT_OVERDUE: RED, ASSIGNMENT_CLOSED: GREEN, NOT_ASSIGNED: GREY}


def assignment_state_text(row: LedgerRow) -> str:
    """已交办, 逾期 N 天, 已销号 or 未交办 of a ledger row."""
    if row.assignment_days_overdue:
        return f"{row.assignment_state} {row.assignment_days_overdue} 天"
    return row.assignment_state


class MajorHazardTableModel(_RowsModel):
    """Rows: (LedgerRow, township). Overdue ones first, as models.office_views sorts them."""

    (COL_ENTERPRISE, COL_TOWNSHIP, COL_HAZARD, COL_DEADLINE, COL_STATUS, COL_ASSIGNEE,
     COL_ASSIGNMENT_DEADLINE, COL_ASSIGNMENT_STATE) = range(8)
    HEADERS = ("被检查单位", "乡镇/街道", "重大事故隐患", "整改期限", "整改状态", "交办单位",
               "交办期限", "交办状态")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if index.isValid() and 0 <= index.row() < len(self.rows) and role == Qt.ItemDataRole.UserRole:
            return self.rows[index.row()][0].id
        return super().data(index, role)

    def ledger_row(self, row: int) -> LedgerRow:
        return self.rows[row][0]

    def cell(self, pair, col: int, role: int):
        row, township = pair
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, township, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.COL_HAZARD:
                return f"{row.item_code} {row.description}\n{row.major_clause}"
            if col == self.COL_ASSIGNEE and row.assignment and row.assignment.note:
                return f"{row.assignment.assignee}：{row.assignment.note}"
            return self.text(row, township, col) or None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.COL_DEADLINE and row.overdue:
                return QColor(RED)
            if col == self.COL_STATUS:
                return QColor(STATUS_COLOURS.get(row.status, "#1565c0"))
            if col in (self.COL_ASSIGNMENT_STATE, self.COL_ASSIGNMENT_DEADLINE):
                colour = ASSIGNMENT_COLOURS.get(row.assignment_state)
                return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.FontRole and (
                (col == self.COL_ASSIGNMENT_STATE and row.assignment_state == ASSIGNMENT_OVERDUE)
                or (col == self.COL_DEADLINE and row.overdue)):
            return _bold()
        return None

    @classmethod
    def text(cls, row: LedgerRow, township: str, col: int) -> str:
        if col == cls.COL_ENTERPRISE:
            return row.enterprise
        if col == cls.COL_TOWNSHIP:
            return township
        if col == cls.COL_HAZARD:
            return f"{row.item_code} {row.description}"
        if col == cls.COL_DEADLINE:
            text = row.deadline.isoformat()
            return f"{text} 逾期{row.days_overdue}天" if row.overdue else text
        if col == cls.COL_STATUS:
            return row.status
        if col == cls.COL_ASSIGNEE:
            return row.assignment.assignee if row.assignment else ""
        if col == cls.COL_ASSIGNMENT_DEADLINE:
            return row.assignment.deadline.isoformat() if row.assignment else ""
        return assignment_state_text(row)


class TallyTableModel(_RowsModel):
    """models.office_views.Tally rows: label, hazards, major, overdue."""

    COL_LABEL, COL_HAZARDS, COL_MAJOR, COL_OVERDUE = range(4)

    def __init__(self, label_header: str, parent=None) -> None:
        super().__init__(parent)
        self.HEADERS = (label_header, "隐患", "重大", "逾期")

    def cell(self, tally, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return (tally.label, str(tally.hazards), str(tally.major), str(tally.overdue))[col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col != self.COL_LABEL:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_OVERDUE and tally.overdue:
            return QColor(RED)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_LABEL:
            return tally.label
        return None
