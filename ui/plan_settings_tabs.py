"""设置 tabs for 计划执法: the inspectors' availability and 回避, and the 计划规则.

Like the rest of 设置, edits stay in the tab until 保存; then `save(session)` writes them
through the domain functions in the dialog's one transaction (all or nothing).
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QGridLayout, QHBoxLayout,
                               QLineEdit, QPushButton, QRadioButton, QSpinBox, QTabWidget,
                               QVBoxLayout, QWidget)

from models.plan_people import (AvoidanceRow, add_avoidance, availability, avoidance_problems,
                                list_avoidances, remove_avoidance, set_availability, townships)
from models.plan_rules import COLOUR_LABELS, COLOURS, ClassRule, PlanRules, load_rules, save_rules
from models.register_queries import list_enterprises
from models.store import Store
from ui.tables import make_table
from ui.plan_dialogs import plain_label
from ui.plan_models import AvailabilityModel, AvoidanceModel
from ui.settings_dialog import button_row, error_label, form_grid, show_problem, show_problems
from ui.style import GREY

if TYPE_CHECKING:  # annotations only: the screens never speak SQL
    from sqlalchemy.orm import Session

ROUNDS = (1, 2, 3, 4, 6, 12)


class ReasonDialog(QDialog):
    """One required line of text: why someone is away, why a 回避."""

    def __init__(self, parent: QWidget, title: str, prompt: str, placeholder: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(520)
        self.reason = QLineEdit(placeholderText=placeholder)
        self.error = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(prompt))
        layout.addWidget(self.reason)
        layout.addWidget(self.error)
        self.ok_button = QPushButton("确定")
        layout.addLayout(button_row(self, self.ok_button, self._accept))

    def _accept(self) -> None:
        if not self.reason.text().strip():
            show_problem(self.error, "请写明理由")
            return
        self.accept()


class AvoidanceDialog(QDialog):
    """添加回避: one inspector, one enterprise (searchable) or one township, the reason."""

    def __init__(self, parent: QWidget, store: Store, people: list) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("添加回避")
        self.setMinimumWidth(640)
        self.person = QComboBox()
        for p in people:
            self.person.addItem(p.name, str(p.id))
        with store.session() as s:
            firms, towns = list_enterprises(s), townships(s)
        self.by_firm, self.by_town = QRadioButton("某一企业"), QRadioButton("整个乡镇/街道")
        self.by_firm.setChecked(True)
        self.firm = QComboBox()
        self.firm.setEditable(True)  # type to find: the completer matches anywhere in the name
        self.firm.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.firm.completer().setFilterMode(Qt.MatchFlag.MatchContains)
        for f in firms:
            self.firm.addItem(f.name, str(f.id))
        self.firm.setCurrentIndex(-1)
        self.town = QComboBox()
        self.town.setEditable(True)
        self.town.addItems(towns)
        self.town.setCurrentIndex(-1)
        self.reason = QLineEdit(placeholderText="例如 近亲属任该企业负责人")
        self.error = error_label()
        kind = QHBoxLayout()
        kind.addWidget(self.by_firm)
        kind.addWidget(self.by_town)
        kind.addStretch()
        kind_box = QWidget()
        kind_box.setLayout(kind)
        layout = QVBoxLayout(self)
        layout.addLayout(form_grid([("执法人员", self.person), ("回避对象", kind_box),
                                    ("企业", self.firm), ("乡镇/街道", self.town),
                                    ("理由", self.reason)]))
        layout.addWidget(self.error)
        self.ok_button = QPushButton("添加")
        layout.addLayout(button_row(self, self.ok_button, self._accept))
        self.by_firm.toggled.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self, *_args) -> None:
        self.firm.setEnabled(self.by_firm.isChecked())
        self.town.setEnabled(self.by_town.isChecked())

    def values(self) -> dict:
        firm = None
        if self.by_firm.isChecked():
            index = self.firm.findText(self.firm.currentText().strip())
            firm = uuid.UUID(self.firm.itemData(index)) if index >= 0 else None
        return dict(inspector_id=uuid.UUID(self.person.currentData()), enterprise_id=firm,
                    township=self.town.currentText() if self.by_town.isChecked() else "",
                    reason=self.reason.text())

    def _accept(self) -> None:
        """Checked by the domain rule now; stored only when 设置 is saved."""
        values = self.values()
        if self.by_firm.isChecked() and values["enterprise_id"] is None:
            show_problem(self.error, "请从列表中选择一家企业")
            return
        with self.store.session() as s:
            problems = avoidance_problems(s, values.pop("inspector_id"), **values)
        if problems:
            show_problems(self.error, problems)
            return
        self.accept()


class PeoplePlanTab(QWidget):
    """在岗与回避: who can be drawn, and whom each inspector must not be drawn for."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.dialog: QDialog | None = None
        self.people, self.avoid = AvailabilityModel(self), AvoidanceModel(self)
        self.added: list[dict] = []           # 回避 to add on 保存
        self.removed: set[uuid.UUID] = set()  # stored 回避 to remove on 保存
        self.changed: dict[uuid.UUID, tuple[bool, str]] = {}  # availability to set on 保存
        self.people_table = make_table(self.people, AvailabilityModel.COL_REASON)
        self.avoid_table = make_table(self.avoid, AvoidanceModel.COL_REASON)
        self.away_button = QPushButton("设为不在岗…")
        self.back_button = QPushButton("设为在岗")
        self.add_button = QPushButton("＋ 添加回避…")
        self.remove_button = QPushButton("删除回避")
        self.away_button.clicked.connect(self._set_away)
        self.back_button.clicked.connect(self._set_back)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.people_table.selectionModel().currentRowChanged.connect(lambda *_: self._buttons())
        self.avoid_table.selectionModel().currentRowChanged.connect(lambda *_: self._buttons())
        note = plain_label("“双随机”抽取只从在岗人员中选派，并避开各人的回避对象。"
                           "改动在点“保存”后生效；已做的抽取保留当时的名录，不受影响。")
        note.setStyleSheet(f"color: {GREY};")
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.people_table, 1)
        layout.addLayout(_row(self.away_button, self.back_button))
        layout.addWidget(plain_label("回避"))
        layout.addWidget(self.avoid_table, 1)
        layout.addLayout(_row(self.add_button, self.remove_button))
        with store.session() as s:
            self._stored_people = availability(s)
            self._stored_avoid = list_avoidances(s)
        self._show()

    def _show(self) -> None:
        self.people.set_rows([replace(p, available=self.changed[p.id][0], reason=self.changed[p.id][1])
                              if p.id in self.changed else p for p in self._stored_people])
        names = {p.id: p.name for p in self._stored_people}
        firms = {}
        if self.added:
            with self.store.session() as s:
                firms = {f.id: f.name for f in list_enterprises(s)}
        pending = [AvoidanceRow(uuid.uuid4(), a["inspector_id"], names[a["inspector_id"]],
                                a["enterprise_id"], firms.get(a["enterprise_id"], ""),
                                a["township"].strip(), a["reason"].strip()) for a in self.added]
        self._pending_ids = {p.id for p in pending}
        self.avoid.set_rows([a for a in self._stored_avoid if a.id not in self.removed] + pending)
        self._buttons()

    def _current(self, table, model):
        index = table.currentIndex()
        return model.rows[index.row()] if index.isValid() else None

    def _buttons(self) -> None:
        person = self._current(self.people_table, self.people)
        self.away_button.setEnabled(person is not None and person.active and person.available)
        self.back_button.setEnabled(person is not None and not person.available)
        self.remove_button.setEnabled(self._current(self.avoid_table, self.avoid) is not None)
        self.add_button.setEnabled(any(p.active for p in self._stored_people))

    def _set_away(self) -> None:
        person = self._current(self.people_table, self.people)
        if person is None:
            return
        dialog = ReasonDialog(self, "设为不在岗", f"{person.name}不在岗的原因（抽取时不会选派）",
                              "例如 脱产培训、病假、借调")
        self._open(dialog, lambda: self._mark(person.id, False, dialog.reason.text().strip()))

    def _set_back(self) -> None:
        person = self._current(self.people_table, self.people)
        if person is not None:
            self._mark(person.id, True, "")

    def _mark(self, person_id: uuid.UUID, available: bool, reason: str) -> None:
        row = self.people_table.currentIndex().row()
        self.changed[person_id] = (available, reason)
        self._show()
        self.people_table.selectRow(row)

    def _add(self) -> None:
        dialog = AvoidanceDialog(self, self.store, [p for p in self._stored_people if p.active])
        self._open(dialog, lambda: (self.added.append(dialog.values()), self._show()))

    def _remove(self) -> None:
        entry = self._current(self.avoid_table, self.avoid)
        if entry is None:
            return
        if entry.id in self._pending_ids:
            del self.added[[a.id for a in self.avoid.rows if a.id in self._pending_ids].index(entry.id)]
        else:
            self.removed.add(entry.id)
        self._show()

    def _open(self, dialog: QDialog, on_ok) -> None:
        dialog.accepted.connect(on_ok)
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def save(self, session: Session) -> None:
        for person_id, (available, reason) in self.changed.items():
            set_availability(session, person_id, available, reason)
        for entry_id in self.removed:
            remove_avoidance(session, entry_id)
        for a in self.added:
            add_avoidance(session, a["inspector_id"], enterprise_id=a["enterprise_id"],
                          township=a["township"], reason=a["reason"])


class PlanRulesTab(QWidget):
    """计划规则: per class how often, what share, the cap; the draw's share, rounds, teams."""

    def __init__(self, store: Store, risk_tab) -> None:
        super().__init__()
        self.risk_tab = risk_tab  # 分类分级: its rules are saved with these
        with store.session() as s:
            rules = load_rules(s)
        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        for col, text in enumerate(("风险等级", "每家每年检查（次）", "抽取比例", "每年至多（次）")):
            grid.addWidget(plain_label(text), 0, col)
        self.per_year, self.share, self.cap = {}, {}, {}
        for row, colour in enumerate(COLOURS, 1):
            r = rules.classes[colour]
            self.per_year[colour] = _spin(0, 12, r.per_year, " 次")
            self.share[colour] = _percent(r.share)
            self.cap[colour] = _spin(0, 24, r.cap, " 次")
            grid.addWidget(plain_label(f"{COLOUR_LABELS[colour]}类企业"), row, 0)
            grid.addWidget(self.per_year[colour], row, 1)
            grid.addWidget(self.share[colour], row, 2)
            grid.addWidget(self.cap[colour], row, 3)
        grid.setColumnStretch(4, 1)
        self.draw_share = _percent(rules.draw_share_min)
        self.rounds = QComboBox()
        for n in ROUNDS:
            self.rounds.addItem(f"每年 {n} 轮（每 {12 // n} 个月一轮）", n)
        self.rounds.setCurrentIndex(self.rounds.findData(rules.rounds))
        self.team_size = _spin(2, 6, rules.team_size, " 人")
        self.per_team = _spin(1, 60, rules.inspections_per_team_month, " 家次")
        for field in (self.draw_share, self.rounds, self.team_size, self.per_team):
            field.setMaximumWidth(320)
        note = plain_label("抽取比例：该等级企业中每年纳入计划的比例（100% 即全部）。"
                           "改动在点“保存”后生效，只影响此后新编制的年度计划。")
        note.setStyleSheet(f"color: {GREY};")
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addSpacing(12)
        layout.addLayout(form_grid([("双随机抽查占计划不低于", self.draw_share),
                                    ("抽取轮数", self.rounds),
                                    ("每组执法人员", self.team_size),
                                    ("每组每月检查", self.per_team)]))
        layout.addWidget(note)
        layout.addStretch()

    def rules(self) -> PlanRules:
        return PlanRules(
            classes={c: ClassRule(self.per_year[c].value(), round(self.share[c].value() / 100, 4),
                                  self.cap[c].value()) for c in COLOURS},
            draw_share_min=round(self.draw_share.value() / 100, 4), rounds=self.rounds.currentData(),
            team_size=self.team_size.value(), inspections_per_team_month=self.per_team.value(),
            risk=self.risk_tab.risk_rules())

    def save(self, session: Session) -> None:
        save_rules(session, self.rules())


def _spin(low: int, high: int, value: int, suffix: str) -> QSpinBox:
    spin = QSpinBox(minimum=low, maximum=high, suffix=suffix)
    spin.setValue(value)
    spin.setMinimumWidth(130)
    return spin


def _percent(share: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox(minimum=0, maximum=100, decimals=0, suffix=" %")
    spin.setValue(round(share * 100))
    spin.setMinimumWidth(130)
    return spin


def _row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    for b in buttons:
        row.addWidget(b)
    row.addStretch()
    return row


def add_plan_tabs(tabs: QTabWidget, store: Store) -> list[QWidget]:
    """The 计划执法 tabs, added to 设置 at the office only (a laptop plans nothing, and its own
    copy of the rules would travel to the office as a second one); the dialog calls each
    one's save(session)."""
    from models.store_mode import is_office_store
    from ui.risk_rules_tab import RiskRulesTab
    if not is_office_store(store.data_dir, store.backend):
        return []
    risk = RiskRulesTab(store)
    people, rules = PeoplePlanTab(store), PlanRulesTab(store, risk)
    tabs.addTab(people, "在岗与回避")
    tabs.addTab(rules, "计划规则")
    tabs.addTab(risk, "分类分级")
    return [people, rules, risk]
