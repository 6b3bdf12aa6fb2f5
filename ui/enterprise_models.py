"""Qt models of the enterprise register screen: the register, one firm's history and hazards."""
from __future__ import annotations

from datetime import timezone

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from models.inspection import InspectionStatus
from models.local_time import agency_text
from models.register_queries import EnterpriseRow, HistoryRow, OpenHazardRow
from models.registry import RiskColour
from ui.style import GREY, RED
from ui.table_model import RowTableModel

ID_ROLE = Qt.ItemDataRole.UserRole         # the row's uuid, for the page
SORT_ROLE = Qt.ItemDataRole.UserRole + 1   # what the proxy sorts by (numbers stay numbers)

# Background and text colour of each risk level, as on the agency's risk map (四色图).
RISK_LOOK = {RiskColour.RED: ("红", "#c62828", "white"),
             RiskColour.ORANGE: ("橙", "#ef6c00", "white"),
             RiskColour.YELLOW: ("黄", "#fdd835", "black"),
             RiskColour.BLUE: ("蓝", "#1565c0", "white")}
RISK_RANK = {RiskColour.RED: 4, RiskColour.ORANGE: 3, RiskColour.YELLOW: 2, RiskColour.BLUE: 1}


def flags_text(row: EnterpriseRow) -> str:
    return " ".join(text for text, on in (("涉粉", row.has_dust), ("涉氨", row.has_ammonia),
                                          ("有限空间", row.has_confined_space)) if on)


def risk_text(row: EnterpriseRow) -> str:
    """红 when the rules of 设置 gave it, 红 手动 when set by hand (the why is in the tooltip
    and the detail line: 定级 …)."""
    return RISK_LOOK[row.risk_colour][0] + (" 手动" if row.risk_by_hand else "")


def short_clause(clause: str) -> str:
    """第十一条（一） out of 《工贸企业重大事故隐患判定标准》第十一条（一）."""
    return clause.rsplit("》", 1)[-1] or clause


class RowsModel(RowTableModel):
    """A read-only table of dataclass rows; subclasses say what each cell shows."""

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, col = self.rows[index.row()], index.column()
        if role == ID_ROLE:
            return row.id
        if role == SORT_ROLE:
            return self.sort_key(row, col)
        return self.cell(row, col, role)

    def sort_key(self, row, col: int):
        return self.cell(row, col, Qt.ItemDataRole.DisplayRole)

    def cell(self, row, col: int, role: int):
        raise NotImplementedError


class EnterpriseTableModel(RowsModel):
    (COL_NAME, COL_CREDIT_CODE, COL_ADDRESS, COL_TOWNSHIP, COL_LEGAL_REP, COL_PHONE, COL_FLAGS,
     COL_RISK, COL_INSPECTIONS, COL_OPEN_HAZARDS, COL_LAST_INSPECTION) = range(11)
    HEADERS = ("单位名称", "统一社会信用代码", "地址", "乡镇/街道", "负责人", "联系电话", "涉及领域",
               "风险", "检查", "未整改", "最近检查")

    CENTRED = (COL_RISK, COL_INSPECTIONS, COL_OPEN_HAZARDS)

    def cell(self, row: EnterpriseRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return {self.COL_NAME: row.name, self.COL_ADDRESS: row.address,
                    self.COL_RISK: row.risk_colour.label + (f"。{row.risk_basis}" if row.risk_basis
                                                            else "")}.get(col)
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            return self._colour(row, col, role)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.CENTRED:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _colour(self, row: EnterpriseRow, col: int, role: int) -> QColor | None:
        _label, background, text = RISK_LOOK[row.risk_colour]
        if col == self.COL_RISK:
            return QColor(background if role == Qt.ItemDataRole.BackgroundRole else text)
        if (col == self.COL_OPEN_HAZARDS and row.open_hazards
                and role == Qt.ItemDataRole.ForegroundRole):
            return QColor(RED)
        return None

    def _text(self, row: EnterpriseRow, col: int) -> str:
        last = row.last_inspection.isoformat() if row.last_inspection else "从未检查"
        return (row.name, row.credit_code, row.address, row.township, row.legal_representative,
                row.phone,
                flags_text(row), risk_text(row), str(row.inspections),
                str(row.open_hazards), last)[col]

    def sort_key(self, row: EnterpriseRow, col: int):
        if col == self.COL_RISK:
            return RISK_RANK[row.risk_colour]
        if col == self.COL_INSPECTIONS:
            return row.inspections
        if col == self.COL_OPEN_HAZARDS:
            return row.open_hazards
        if col == self.COL_LAST_INSPECTION:
            return row.last_inspection.isoformat() if row.last_inspection else ""
        return self._text(row, col)


class HistoryModel(RowsModel):
    COL_DATE, COL_PLACE, COL_STATUS, COL_HAZARDS = range(4)
    HEADERS = ("检查时间", "检查场所", "状态", "发现隐患")

    def cell(self, row: HistoryRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_PLACE:
            return row.place
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_HAZARDS and row.major_hazards:
            return QColor(RED)
        if (role == Qt.ItemDataRole.ForegroundRole and col == self.COL_STATUS
                and row.status == InspectionStatus.IN_PROGRESS):
            return QColor("#1565c0")
        return None

    def _text(self, row: HistoryRow, col: int) -> str:
        started = agency_text(row.started_at)
        if not row.hazards:
            hazards = "无"
        elif row.major_hazards:
            hazards = f"{row.hazards} 项（重大 {row.major_hazards}）"
        else:
            hazards = f"{row.hazards} 项"
        return (started, row.place, row.status_label, hazards)[col]

    def sort_key(self, row: HistoryRow, col: int):
        if col == self.COL_DATE:
            return row.started_at.astimezone(timezone.utc).isoformat()
        return self._text(row, col)


class OpenHazardModel(RowsModel):
    COL_DESCRIPTION, COL_LEVEL, COL_DEADLINE, COL_FOUND = range(4)
    HEADERS = ("隐患", "等级", "整改期限", "发现日期")

    def cell(self, row: OpenHazardRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return {self.COL_DESCRIPTION: row.description,
                    self.COL_LEVEL: row.major_clause or None,
                    self.COL_DEADLINE: None if row.ordered else "检查尚未定稿，整改指令书未下达"
                    }.get(col)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._colour(row, col)
        if role == Qt.ItemDataRole.FontRole and col == self.COL_LEVEL and row.is_major:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _colour(self, row: OpenHazardRow, col: int):
        if (col == self.COL_LEVEL and row.is_major) or (col == self.COL_DEADLINE and row.overdue):
            return QColor(RED)
        if col == self.COL_DEADLINE and not row.ordered:
            return QColor(GREY)
        return None

    def _text(self, row: OpenHazardRow, col: int) -> str:
        level = f"重大 · {short_clause(row.major_clause)}" if row.is_major else "一般"
        deadline = row.deadline.isoformat()
        if row.overdue:
            deadline += f"（已逾期 {row.days_overdue} 天）"
        elif not row.ordered:
            deadline += "（未下达）"
        return (f"{row.item_code} {row.description}", level, deadline,
                row.found_on.isoformat())[col]

    def sort_key(self, row: OpenHazardRow, col: int):
        if col == self.COL_DEADLINE:
            return row.deadline.isoformat()
        return self._text(row, col)
