"""Qt models of the hazard ledger screen: the ledger page, the due list, the statistics tables."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from models.ledger import CLOSED, DUE, NOT_RECTIFIED, OVERDUE, LedgerRow
from ui.enterprise_models import short_clause
from ui.style import AMBER, GREEN, GREY, RED
from ui.table_model import RowTableModel

ID_ROLE = Qt.ItemDataRole.UserRole  # the hazard's uuid

STATUS_COLOURS = {OVERDUE: RED, NOT_RECTIFIED: RED, DUE: AMBER, CLOSED: GREEN}



def _bold() -> QFont:
    font = QFont()
    font.setBold(True)
    return font


class _RowsModel(RowTableModel):
    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == ID_ROLE:
            return getattr(row, "id", None)
        return self.cell(row, index.column(), role)

    def cell(self, row, col: int, role: int):
        raise NotImplementedError


class LedgerTableModel(_RowsModel):
    """One page of the ledger. Major hazards' 一单四制 columns are at the end."""

    (COL_ENTERPRISE, COL_ITEM, COL_LEVEL, COL_FOUND, COL_DEADLINE, COL_STATUS, COL_ORDER,
     COL_ASSIGNED, COL_LEDGER_NO, COL_CLOSED, COL_REPORTED) = range(11)
    HEADERS = ("被检查单位", "隐患", "等级", "发现日期", "整改期限", "状态", "整改指令书文号",
               "交办", "台账编号", "销号日期", "通报日期")
    MAJOR_COLUMNS = (COL_ASSIGNED, COL_LEDGER_NO, COL_CLOSED, COL_REPORTED)

    def cell(self, row: LedgerRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole text of a cell that may be elided
            return {self.COL_LEVEL: row.major_clause or None,
                    self.COL_ORDER: row.order_number or None,
                    self.COL_STATUS: row.outcome or None}.get(col) or self.text(row, col) or None
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, col)
        if role == Qt.ItemDataRole.FontRole and (
                (col == self.COL_LEVEL and row.is_major) or (col == self.COL_STATUS and row.overdue)):
            return _bold()
        return None

    def _colour(self, row: LedgerRow, col: int) -> QColor | None:
        if col == self.COL_DEADLINE and row.overdue:
            return QColor(RED)
        if col == self.COL_LEVEL and row.is_major:
            return QColor(RED)
        if col == self.COL_STATUS:
            return QColor(STATUS_COLOURS.get(row.status, "#1565c0"))
        if col in self.MAJOR_COLUMNS and not row.is_major:
            return QColor(GREY)
        return None

    def text(self, row: LedgerRow, col: int) -> str:
        if col == self.COL_ITEM:
            return f"{row.item_code} {row.description}"
        if col == self.COL_LEVEL:
            return f"重大·{short_clause(row.major_clause)}" if row.is_major else "一般"
        if col == self.COL_DEADLINE:
            text = row.deadline.isoformat()
            return f"{text} 逾期{row.days_overdue}天" if row.overdue else text
        if col == self.COL_STATUS:
            return f"{row.status}（处罚）" if row.escalated else row.status
        if col in self.MAJOR_COLUMNS and not row.is_major:
            return "—"
        if col == self.COL_ORDER:  # the region prefix is the same on every row (tooltip: whole)
            return row.order_number.split("应急", 1)[-1]
        value = {self.COL_ENTERPRISE: row.enterprise, self.COL_FOUND: row.found_on, self.COL_ASSIGNED: row.assigned_to,
                 self.COL_LEDGER_NO: row.ledger_no, self.COL_CLOSED: row.closed_on,
                 self.COL_REPORTED: row.reported_on}[col]
        return value.isoformat() if hasattr(value, "isoformat") else (value or "")


class DueTableModel(_RowsModel):
    """The re-inspections due soon or overdue, shown at start."""

    COL_DEADLINE, COL_WHEN, COL_ENTERPRISE, COL_ITEM, COL_LEVEL = range(5)
    HEADERS = ("整改期限", "距期限", "被检查单位", "隐患", "等级")

    def __init__(self, today, parent=None) -> None:
        super().__init__(parent)
        self.today = today

    def cell(self, row: LedgerRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.ForegroundRole and (
                (col in (self.COL_DEADLINE, self.COL_WHEN) and row.overdue)
                or (col == self.COL_LEVEL and row.is_major)):
            return QColor(RED)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_ITEM:
            return row.description
        return None

    def text(self, row: LedgerRow, col: int) -> str:
        days = (row.deadline - self.today).days
        when = f"已逾期 {-days} 天" if days < 0 else ("今天到期" if days == 0 else f"还有 {days} 天")
        return (row.deadline.isoformat(), when, row.enterprise,
                f"{row.item_code} {row.description}", row.level)[col]


class CountTableModel(_RowsModel):
    """(name, count) pairs — the statistics' tables."""

    COL_NAME, COL_COUNT = range(2)

    def __init__(self, name_header: str, parent=None) -> None:
        super().__init__(parent)
        self.HEADERS = (name_header, "隐患数")

    def cell(self, row, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return str(row[col])
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_COUNT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
