"""设置 → 分类分级: the rules that give each enterprise its risk class (models.risk_class).

The rules are edited here and saved with the 计划规则 (one PlanRules row) when 设置 is saved;
the tab shows at once how many enterprises each class would hold under the edited rules.
"""
from __future__ import annotations

from copy import deepcopy

from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from models.plan_rules import load_rules, today_of
from models.risk_class import (AREAS, COLOUR_NAMES, COLOURS, KINDS, Condition, RiskRule,
                               RiskRules, register_decisions)
from models.store import Store
from ui.enterprise_page import make_table
from ui.plan_dialogs import plain_label
from ui.plan_models import RiskRuleModel
from ui.settings_dialog import button_row, error_label, form_grid, show_problems
from ui.style import GREY

NONE = ""  # the second condition left out


class ConditionRow(QWidget):
    """One condition: what is asked (kind), of which area, at least how many, in how many months."""

    def __init__(self, optional: bool) -> None:
        super().__init__()
        self.kind = QComboBox()
        if optional:
            self.kind.addItem("（无）", NONE)
        for kind, text in KINDS.items():
            self.kind.addItem(text, kind)
        self.area = QComboBox()
        for area, (_flag, text) in AREAS.items():
            self.area.addItem(text, area)
        self.count = QSpinBox(minimum=1, maximum=99, suffix=" 项/个")
        self.months = QSpinBox(minimum=1, maximum=120, suffix=" 个月", value=12)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.kind, self.area, self.count, self.months):
            w.setMinimumHeight(36)
            row.addWidget(w)
        row.addStretch()
        self.kind.currentIndexChanged.connect(lambda _i: self._enable())
        self._enable()

    def _enable(self) -> None:
        kind = self.kind.currentData()
        self.area.setEnabled(kind == "area")
        self.count.setEnabled(kind in ("areas_at_least", "major_hazards", "open_hazards"))
        self.months.setEnabled(kind in ("major_hazards", "not_inspected"))

    def condition(self) -> Condition | None:
        kind = self.kind.currentData()
        if kind == NONE:
            return None
        return Condition(kind, area=self.area.currentData() if kind == "area" else "",
                         count=self.count.value(), months=self.months.value())


class RiskRuleDialog(QDialog):
    """添加定级规则: a class and one or two conditions that must both hold."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setWindowTitle("添加定级规则")
        self.setMinimumWidth(760)
        self.colour = QComboBox()
        for c in COLOURS:
            self.colour.addItem(f"{COLOUR_NAMES[c]}类", c)
        self.first, self.second = ConditionRow(False), ConditionRow(True)
        self.error = error_label()
        layout = QVBoxLayout(self)
        layout.addLayout(form_grid([("定为", self.colour), ("条件", self.first),
                                    ("并且", self.second)]))
        layout.addWidget(self.error)
        self.ok_button = QPushButton("添加")
        layout.addLayout(button_row(self, self.ok_button, self._accept))

    def rule(self) -> RiskRule:
        conditions = [c for c in (self.first.condition(), self.second.condition()) if c]
        return RiskRule(self.colour.currentData(), conditions)

    def _accept(self) -> None:
        problems = RiskRules(rules=[self.rule()]).problems()
        if problems:
            show_problems(self.error, problems)
            return
        self.accept()


class RiskRulesTab(QWidget):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.dialog: QDialog | None = None
        with store.session() as s:
            self.edited = deepcopy(load_rules(s).risk)
        self.model = RiskRuleModel(self)
        self.table = make_table(self.model, RiskRuleModel.COL_CONDITIONS)
        self.add_button = QPushButton("＋ 添加规则…")
        self.remove_button = QPushButton("删除所选规则")
        self.add_button.clicked.connect(self.add_rule)
        self.remove_button.clicked.connect(self.remove_selected)
        self.default = QComboBox()
        for c in COLOURS:
            self.default.addItem(f"{COLOUR_NAMES[c]}类", c)
        self.default.setCurrentIndex(self.default.findData(self.edited.default))
        self.default.currentIndexChanged.connect(lambda _i: self._changed())
        self.default.setMaximumWidth(200)
        self.effect = plain_label()
        note = plain_label("企业满足多条规则时取最高等级；都不满足时取默认等级。企业台账中手动定级"
                           "（须写明理由）的企业不按规则，并在台账中注明。保存后，编制年度计划和"
                           "每次抽取前按规则重新定级。")
        note.setStyleSheet(f"color: {GREY};")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("风险定级规则（按企业台账记录的领域、检查发现的隐患和检查时间）"))
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addLayout(form_grid([("都不满足时定为", self.default)]))
        layout.addWidget(self.effect)
        layout.addWidget(note)
        self._changed()

    def risk_rules(self) -> RiskRules:
        return RiskRules(rules=deepcopy(self.edited.rules), default=self.default.currentData())

    def _changed(self) -> None:
        self.model.set_rows(list(self.edited.rules))
        self.remove_button.setEnabled(bool(self.edited.rules))
        with self.store.session() as s:
            decisions = register_decisions(s, self.risk_rules(), today_of(s))
        by_hand = sum(d.by_hand for d in decisions.values())
        counts = {c: sum(d.colour.value == c for d in decisions.values()) for c in COLOURS}
        text = "按以上规则，企业台账现为：" + "，".join(f"{COLOUR_NAMES[c]} {counts[c]} 家"
                                                 for c in COLOURS)
        self.effect.setText(text + (f"（其中手动定级 {by_hand} 家）" if by_hand else ""))

    def add_rule(self) -> None:
        dialog = RiskRuleDialog(self)
        dialog.accepted.connect(lambda: self._added(dialog.rule()))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def _added(self, rule: RiskRule) -> None:
        self.edited.rules.append(rule)
        self._changed()

    def remove_selected(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            del self.edited.rules[index.row()]
            self._changed()

    def save(self, session) -> None:
        """Saved with the 计划规则 (PlanRulesTab reads risk_rules()): one row, one write."""
