"""Adding or editing one enterprise of the register, with each field's problem shown under it."""
from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from models.enterprise_rules import (EnterpriseInput, create_enterprise, credit_code_problem,
                                     field_problems, phone_problem, risk_reason_problem,
                                     update_enterprise)
from models.errors import FieldCheckError, ValidationError
from models.plan_rules import rule_class
from models.register_queries import enterprise_input
from models.registry import RiskColour
from models.risk_class import areas_of
from models.store import Store
from ui.enterprise_models import RISK_LOOK
from ui.style import GREY

RULES = "rules"  # the combo's data for 按规则定级 (Qt cannot find a None item by its data)
RISK_CHOICES = ((RiskColour.RED, "红 重大风险（手动）"), (RiskColour.ORANGE, "橙 较大风险（手动）"),
                (RiskColour.YELLOW, "黄 一般风险（手动）"), (RiskColour.BLUE, "蓝 低风险（手动）"))
# Which field a domain problem belongs to, told by the words in its text.
FIELD_WORDS = (("credit_code", "信用代码"), ("phone", "电话"), ("name", "名称"),
               ("risk_reason", "风险等级"))


def error_label() -> QLabel:
    label = QLabel()
    label.setProperty("role", "fieldError")
    # No word wrap: a wrapped label in a form row is clipped instead of growing the dialog;
    # the dialog is wide enough for the longest message on one line.
    label.hide()
    return label


class EnterpriseDialog(QDialog):
    """`enterprise_id` is None for a new enterprise, and holds the saved id after 保存."""

    def __init__(self, store: Store, parent: QWidget | None = None,
                 enterprise_id: uuid.UUID | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.enterprise_id = enterprise_id
        self.stored: EnterpriseInput | None = None  # as loaded, to tell a hand-made class change
        self.setWindowTitle("编辑企业信息" if enterprise_id else "新增企业")
        self.setMinimumWidth(780)
        self._build()
        if enterprise_id is not None:
            with store.session() as s:
                self._fill(enterprise_input(s, enterprise_id))
        self.name.setFocus()

    def _build(self) -> None:
        self.name, self.credit_code, self.address = QLineEdit(), QLineEdit(), QLineEdit()
        self.legal_rep, self.post, self.phone = QLineEdit(), QLineEdit(), QLineEdit()
        self.township, self.risk_reason = QLineEdit(), QLineEdit()
        self.township.setPlaceholderText("例如 月山镇、东山街道（用于回避和按乡镇统计）")
        self.risk_reason.setPlaceholderText("手动调整风险等级时必填，例如 2026 年发生粉尘燃爆未遂事件")
        self.credit_code.setPlaceholderText("18 位，见营业执照")
        self.phone.setPlaceholderText("手机 11 位，或座机如 0731-12345678")
        self.errors = {"name": error_label(), "credit_code": error_label(), "phone": error_label(),
                       "risk_reason": error_label()}
        self.dust, self.ammonia = QCheckBox("涉粉尘爆炸"), QCheckBox("涉氨制冷")
        self.confined = QCheckBox("有限空间作业")
        self.risk = QComboBox()
        self.risk.addItem("按规则定级", RULES)
        for colour, text in RISK_CHOICES:
            self.risk.addItem(text, colour.value)
        self.risk.setCurrentIndex(0)
        self.rule_note = QLabel()  # what the rules give now, from the ticked areas
        self.rule_note.setTextFormat(Qt.TextFormat.PlainText)
        self.rule_note.setStyleSheet(f"color: {GREY};")
        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.addRow("单位名称 *", self._with_error(self.name, "name"))
        form.addRow("统一社会信用代码 *", self._with_error(self.credit_code, "credit_code"))
        form.addRow("地址", self.address)
        form.addRow("乡镇/街道", self.township)
        form.addRow("法定代表人（负责人）", self.legal_rep)
        form.addRow("职务", self.post)
        form.addRow("联系电话", self._with_error(self.phone, "phone"))
        form.addRow("涉及领域", self._flags_row())
        form.addRow("风险等级", self._risk_row())
        form.addRow("定级理由", self._with_error(self.risk_reason, "risk_reason"))
        self.general_error = error_label()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addStretch()
        layout.addWidget(self.general_error)
        layout.addWidget(self._buttons())
        self.name.textChanged.connect(lambda text: self._show("name", self._name_problem(text)))
        self.credit_code.textChanged.connect(
            lambda text: self._show("credit_code", credit_code_problem(text)))
        self.phone.textChanged.connect(lambda text: self._show("phone", phone_problem(text)))
        self.risk.currentIndexChanged.connect(lambda _i: self._risk_changed())
        for check in (self.dust, self.ammonia, self.confined):
            check.toggled.connect(lambda _on: self._show_rule_class())
        self._show_rule_class()
        self._risk_changed()

    def _risk_row(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.risk)
        row.addWidget(self.rule_note, 1)
        return box

    def by_hand(self) -> bool:
        return self.risk.currentData() != RULES

    def _show_rule_class(self) -> None:
        """The class the rules of 设置 give with the areas ticked (and the firm's findings)."""
        areas = areas_of(self.dust.isChecked(), self.ammonia.isChecked(), self.confined.isChecked())
        with self.store.session() as s:
            decision = rule_class(s, areas, self.enterprise_id)
        self.rule_colour = decision.colour
        rule = decision.rule or "未满足任何定级条件（默认等级）"
        prefix = "按规则为" if not self.by_hand() else "手动定级优先；按规则应为"
        self.rule_note.setText(f"{prefix} {RISK_LOOK[decision.colour][0]}：{rule}")

    def _with_error(self, field: QLineEdit, key: str) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(self.errors[key])
        return box

    def _flags_row(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        for check in (self.dust, self.ammonia, self.confined):
            check.setMinimumHeight(36)
            row.addWidget(check)
        row.addStretch()
        return box

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.save_button = QPushButton("保存(&S)")
        self.save_button.setProperty("role", "primary")
        self.save_button.setMinimumSize(120, 44)
        self.save_button.setDefault(True)
        cancel = QPushButton("取消")
        cancel.setMinimumHeight(44)
        buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(cancel, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self.save)
        buttons.rejected.connect(self.reject)
        return buttons

    def _fill(self, data: EnterpriseInput) -> None:
        for field, value in ((self.name, data.name), (self.credit_code, data.credit_code),
                             (self.address, data.address),
                             (self.legal_rep, data.legal_representative),
                             (self.post, data.representative_post), (self.phone, data.phone)):
            field.setText(value)
        self.dust.setChecked(data.has_dust)
        self.ammonia.setChecked(data.has_ammonia)
        self.confined.setChecked(data.has_confined_space)
        self.township.setText(data.township)
        self.risk.setCurrentIndex(self.risk.findData(
            data.risk_colour.value if data.risk_colour is not None else RULES))
        self.risk_reason.setText(data.risk_reason)
        self.stored = data
        self._show_rule_class()

    def _risk_changed(self) -> None:
        """按规则定级 needs no reason; a new class by hand asks for this change's reason; back
        to the stored class, the stored reason returns."""
        self.risk_reason.setEnabled(self.by_hand())
        if not self.by_hand():
            self.risk_reason.clear()
            self._show("risk_reason", None)
        elif self.stored is not None and self._chosen_colour() == self.stored.risk_colour:
            self.risk_reason.setText(self.stored.risk_reason)
            self._show("risk_reason", None)
        elif self.stored is not None and self.risk_reason.text() == self.stored.risk_reason:
            self.risk_reason.clear()
        if hasattr(self, "rule_colour"):
            self._show_rule_class()

    def _chosen_colour(self) -> RiskColour | None:
        return RiskColour(self.risk.currentData()) if self.by_hand() else None

    @staticmethod
    def _name_problem(text: str) -> str | None:
        return None if text.strip() else "请填写单位名称"

    def _show(self, key: str, problem: str | None) -> None:
        label = self.errors[key]
        label.setText(problem or "")
        label.setVisible(bool(problem))

    def form_input(self) -> EnterpriseInput:
        return EnterpriseInput(
            name=self.name.text(), credit_code=self.credit_code.text(), address=self.address.text(),
            legal_representative=self.legal_rep.text(), representative_post=self.post.text(),
            phone=self.phone.text(), has_dust=self.dust.isChecked(),
            has_ammonia=self.ammonia.isChecked(), has_confined_space=self.confined.isChecked(),
            risk_colour=self._chosen_colour(), township=self.township.text(),
            risk_reason=self.risk_reason.text() if self.by_hand() else "")

    def save(self) -> None:
        """Store the form if every field is right; otherwise say what is wrong, where."""
        data = self.form_input()
        self.general_error.hide()
        problems = field_problems(data)
        stored = self.stored or EnterpriseInput(name="", credit_code="")  # new: nothing set by hand
        if (p := risk_reason_problem(stored.risk_colour, stored.risk_reason, data)):
            problems["risk_reason"] = p
        for key in self.errors:
            self._show(key, problems.get(key))
        if problems:
            self._focus_first(problems)
            return
        try:
            with self.store.transaction(label="save_enterprise") as s:
                saved = (update_enterprise(s, self.enterprise_id, data) if self.enterprise_id
                         else create_enterprise(s, data))
                saved_id = saved.id
        except ValidationError as exc:
            self._show_domain_problems(exc)
            return
        except FieldCheckError as exc:
            self._show_general(exc.text())
            return
        self.enterprise_id = saved_id
        self.accept()

    def _show_domain_problems(self, exc: ValidationError) -> None:
        placed: dict[str, str] = {}
        for problem in exc.problems or [exc.message]:
            key = next((k for k, words in FIELD_WORDS if words in problem), None)
            if key is None:
                self._show_general(problem)
            else:
                placed[key] = problem
                self._show(key, problem)
        self._focus_first(placed)

    def _show_general(self, text: str) -> None:
        self.general_error.setText(text)
        self.general_error.show()

    def _focus_first(self, problems: dict[str, str]) -> None:
        fields = {"name": self.name, "credit_code": self.credit_code, "phone": self.phone,
                  "risk_reason": self.risk_reason}
        for key in fields:
            if key in problems:
                fields[key].setFocus()
                fields[key].selectAll()
                return
