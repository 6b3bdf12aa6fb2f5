"""Qt models of the 执法计划 screens: months, drawn tasks, exclusions, progress, 待检任务,
the 重点检查 pick list, and the inspectors' availability and 回避 in 设置."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from models.plan_people import AvailabilityRow, AvoidanceRow
from models.plan_rules import COLOUR_LABELS, OpenTask
from models.plan_views import DrawTaskRow, ExclusionRow, MonthRow
from models.register_queries import EnterpriseRow
from models.registry import RiskColour
from models.risk_class import RiskRule
from ui.enterprise_models import RISK_LOOK, RowsModel
from ui.style import GREY, RED

CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked
DISPLAY = Qt.ItemDataRole.DisplayRole


def months_text(first: int, due: int) -> str:
    return f"{due} 月底前" if first == due else f"{first}–{due} 月，{due} 月底前"


def risk_colours(risk, col: int, risk_col: int, role: int):
    """The risk cell in the colours of the 四色图."""
    if col != risk_col:
        return None
    _label, background, text = RISK_LOOK[risk]
    return QColor(background if role == Qt.ItemDataRole.BackgroundRole else text)


class MonthModel(RowsModel):
    COL_MONTH, COL_INSPECTIONS, COL_TEAMS = range(3)
    HEADERS = ("月份", "需检查（家次）", "需要检查组")

    def cell(self, row: MonthRow, col: int, role: int):
        if role == DISPLAY:
            return (f"{row.month} 月", str(row.inspections), str(row.teams))[col]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def data(self, index, role=DISPLAY):  # rows have no id
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        return self.cell(self.rows[index.row()], index.column(), role)


class DrawTaskModel(MonthModel):
    COL_ENTERPRISE, COL_RISK, COL_TEAM, COL_DUE = range(4)
    HEADERS = ("被检查企业", "风险", "执法人员", "完成期限")

    def cell(self, row: DrawTaskRow, col: int, role: int):
        if role == DISPLAY:
            return (row.enterprise, RISK_LOOK[row.risk][0], row.team,
                    months_text(row.first_month, row.due_month))[col]
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            return risk_colours(row.risk, col, self.COL_RISK, role)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_RISK:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class ExclusionModel(MonthModel):
    COL_SUBJECT, COL_REASON = range(2)
    HEADERS = ("未抽取的对象", "原因")

    def cell(self, row: ExclusionRow, col: int, role: int):
        if role in (DISPLAY, Qt.ItemDataRole.ToolTipRole):
            return (row.subject, row.reason)[col]
        return None


class ProgressModel(MonthModel):
    """Rows are (label, {"done", "due", "overdue"}) from models.plan_rules.plan_progress."""
    COL_GROUP, COL_DONE, COL_DUE, COL_OVERDUE = range(4)
    HEADERS = ("分类 / 领域", "已完成", "待检", "逾期")

    @staticmethod
    def rows_from(progress: dict) -> list[tuple[str, dict]]:
        rows = [("合计", progress["total"])]
        rows += [(f"{COLOUR_LABELS[c]}类企业", n) for c, n in progress["by_class"].items()]
        rows += [(area, n) for area, n in progress["by_area"].items()]
        return rows

    def cell(self, row: tuple[str, dict], col: int, role: int):
        label, n = row
        if role == DISPLAY:
            return (label, str(n["done"]), str(n["due"]), str(n["overdue"]))[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_OVERDUE and n["overdue"]:
            return QColor(RED)
        if role == Qt.ItemDataRole.FontRole and label == "合计":
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col != self.COL_GROUP:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class OpenTaskModel(RowsModel):
    """The laptop's 待检任务: overdue ones in red."""
    COL_ENTERPRISE, COL_DUE, COL_TEAM, COL_KIND = range(4)
    HEADERS = ("被检查企业", "完成期限", "执法人员", "来源")

    def cell(self, row: OpenTask, col: int, role: int):
        if role == DISPLAY:
            due = f"{row.year} 年 " + months_text(row.first_month, row.due_month)
            if row.overdue:
                due += "（已逾期）"
            return (row.enterprise, due, "、".join(row.team) or "（由办公室指派）",
                    "双随机抽查" if row.kind == "draw" else "重点检查")[col]
        if role == Qt.ItemDataRole.ForegroundRole and row.overdue:
            return QColor(RED)
        if role == Qt.ItemDataRole.ToolTipRole and row.overdue:
            return "已过完成期限，请尽快检查"
        return None


class FocusPickModel(RowsModel):
    """Enterprises of the register, each with a check box: the 重点检查 list chosen by hand."""
    COL_NAME, COL_RISK, COL_TOWNSHIP = range(3)
    HEADERS = ("单位名称", "风险", "乡镇/街道")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.checked: set = set()

    def cell(self, row: EnterpriseRow, col: int, role: int):
        if role == DISPLAY:
            return (row.name, RISK_LOOK[row.risk_colour][0], row.township)[col]
        if role == Qt.ItemDataRole.CheckStateRole and col == self.COL_NAME:
            return CHECKED if row.id in self.checked else UNCHECKED
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            return risk_colours(row.risk_colour, col, self.COL_RISK, role)
        return None

    # Not ItemIsUserCheckable: the dialog toggles on a click anywhere in the row (and Space);
    # Qt's own toggle on the indicator would come on top of it and undo the tick.

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        firm = self.rows[index.row()].id
        if value in (CHECKED, CHECKED.value):
            self.checked.add(firm)
        else:
            self.checked.discard(firm)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True

    def toggle(self, row: int) -> None:
        index = self.index(row, self.COL_NAME)
        state = index.data(Qt.ItemDataRole.CheckStateRole)
        self.setData(index, UNCHECKED if state == CHECKED else CHECKED, Qt.ItemDataRole.CheckStateRole)


class AvailabilityModel(RowsModel):
    COL_NAME, COL_CERTIFICATE, COL_STATE, COL_REASON = range(4)
    HEADERS = ("姓名", "执法证号", "可否抽取", "不在岗原因")

    def cell(self, row: AvailabilityRow, col: int, role: int):
        if role == DISPLAY:
            state = "已停用" if not row.active else "在岗" if row.available else "不在岗"
            return (row.name, row.certificate_no, state, row.reason)[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if not row.active:
                return QColor(GREY)
            if not row.available and col == self.COL_STATE:
                return QColor(RED)
        return None


class AvoidanceModel(RowsModel):
    COL_INSPECTOR, COL_TARGET, COL_REASON = range(3)
    HEADERS = ("执法人员", "回避对象", "理由")

    def cell(self, row: AvoidanceRow, col: int, role: int):
        if role in (DISPLAY, Qt.ItemDataRole.ToolTipRole):
            target = row.enterprise if row.enterprise_id else f"{row.township}（整个乡镇/街道）"
            return (row.inspector, target, row.reason)[col]
        return None


class FocusTaskModel(MonthModel):
    """The plan's 重点检查 tasks (dicts of models.plan_rules.focus_tasks); no team yet in red."""
    COL_ENTERPRISE, COL_DUE, COL_TEAM = range(3)
    HEADERS = ("重点检查企业", "完成期限", "执法人员")

    def cell(self, row: dict, col: int, role: int):
        if role == DISPLAY:
            return (row["enterprise"], months_text(row["first_month"], row["due_month"]),
                    "、".join(row["team"]) or "未指派")[col]
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_TEAM and not row["team"]:
            return QColor(RED)
        return None


class RiskRuleModel(MonthModel):
    """设置 → 分类分级: each rule's class (in its colour) and its conditions."""
    COL_COLOUR, COL_CONDITIONS = range(2)
    HEADERS = ("定为", "条件（须同时满足）")

    def cell(self, row: RiskRule, col: int, role: int):
        if role == DISPLAY:
            return (f"{COLOUR_LABELS[row.colour]}类", row.text())[col]
        if role in (Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ForegroundRole):
            return risk_colours(RiskColour(row.colour), col, self.COL_COLOUR, role)
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_COLOUR:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None
