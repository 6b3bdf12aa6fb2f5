"""The office's 执法计划 dialogs: make the year's plan (pick 重点检查), draw or redraw a round,
assign the team of a 重点检查 task.

A draw is written once and for all (the audit chain keeps it), so the draw dialog shows
what will happen and asks for a second, explicit 确认抽取 before anything is stored.
"""
from __future__ import annotations

import secrets
import uuid

from PySide6.QtCore import QEvent, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QStackedWidget, QVBoxLayout, QWidget)

from models.errors import FieldCheckError, ValidationError
from models.plan_rules import assign_team, create_plan, draw_round, team_candidates
from models.plan_views import draw_pool
from models.register_queries import list_enterprises
from models.store import Store
from ui.enterprise_page import make_table
from ui.messages import show_error
from ui.plan_models import CHECKED, UNCHECKED, FocusPickModel
from ui.settings_dialog import error_label, show_problems
from ui.style import GREY

OFFICE = "办公室"  # the actor the audit records for office work, as the CLI does


def plain_label(text: str = "", wrap: bool = True) -> QLabel:
    """A label that shows record text as typed (a name with "<b>" stays literal)."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    return label


def new_seed() -> str:
    """From the system's random source (not Python's `random`): nobody can steer it."""
    return secrets.token_hex(8)


class CreatePlanDialog(QDialog):
    """编制 Y 年度执法计划: tick the 重点检查 enterprises (search as you type), then 编制."""

    def __init__(self, store: Store, year: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.year = store, year
        self.plan_id: uuid.UUID | None = None
        self.setWindowTitle(f"编制 {year} 年度执法计划")
        self.resize(900, 620)
        self.focus = FocusPickModel(self)
        with store.session() as s:
            self.focus.set_rows(list_enterprises(s))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.focus)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit(placeholderText="输入单位名称或乡镇查找")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = make_table(self.proxy, FocusPickModel.COL_NAME)
        self.table.clicked.connect(self._toggle)
        self.table.installEventFilter(self)
        self.focus.dataChanged.connect(lambda *_: self._count())
        note = plain_label("其余检查由“双随机”抽取，按 设置 → 计划规则 中各风险等级的频次和比例计算。"
                           "勾选的重点检查企业不能使双随机占比低于规定。")
        note.setStyleSheet(f"color: {GREY};")
        self.count = plain_label()
        self.problems = error_label()
        self.create_button = QPushButton(f"编制 {year} 年度计划")
        self.create_button.setProperty("role", "primary")
        self.create_button.setMinimumHeight(44)
        self.create_button.clicked.connect(self._create)
        cancel = QPushButton("取消")
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count, 1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.create_button)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("重点检查企业（点击勾选，可不选）"))
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(self.problems)
        layout.addLayout(buttons)
        self._count()

    def _toggle(self, index) -> None:
        if index.isValid():
            self.focus.toggle(self.proxy.mapToSource(index).row())

    def eventFilter(self, watched, event) -> bool:
        """Space ticks the current row, as on a check box."""
        if (watched is self.table and event.type() == QEvent.Type.KeyPress
                and event.key() == Qt.Key.Key_Space):
            self._toggle(self.table.currentIndex())
            return True
        return super().eventFilter(watched, event)

    def _count(self) -> None:
        self.count.setText(f"已选重点检查企业 {len(self.focus.checked)} 家")

    def _create(self) -> None:
        focus = [r.id for r in self.focus.rows if r.id in self.focus.checked]  # register order
        try:
            with self.store.transaction(actor=OFFICE, label="plan_create") as s:
                plan_id = create_plan(s, self.year, focus).id
        except ValidationError as exc:
            hint = [exc.hint] if exc.hint else []
            show_problems(self.problems, [exc.message, *exc.problems, *hint])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.plan_id = plan_id
        self.accept()


class DrawDialog(QDialog):
    """抽取 (or 重抽, when `redraw_of` is given): the seed, then a confirmation step."""

    def __init__(self, store: Store, plan_id: uuid.UUID, round_text: str, parent: QWidget | None = None,
                 redraw_of: uuid.UUID | None = None) -> None:
        super().__init__(parent)
        self.store, self.plan_id, self.redraw_of = store, plan_id, redraw_of
        self.round_text = round_text
        self.draw_id: uuid.UUID | None = None
        self.setWindowTitle(("重新抽取 " if redraw_of else "双随机抽取 ") + round_text)
        self.setMinimumWidth(720)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._seed_page())
        self.pages.addWidget(self._confirm_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self.seed.setFocus()

    def _seed_page(self) -> QWidget:
        page = QWidget()
        self.seed = QLineEdit(new_seed())
        self.seed.setMinimumHeight(40)
        self.seed.setStyleSheet("font-family: monospace; font-size: 14pt;")
        self.regenerate = QPushButton("重新生成")
        self.regenerate.clicked.connect(lambda: self.seed.setText(new_seed()))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.regenerate)
        note = plain_label("种子已由系统随机源生成；也可清空后输入见证人现场商定的种子（如抽签号码）。"
                           "同一种子和同一名录总是得到同一结果，可随时用“核验”重放。")
        note.setStyleSheet(f"color: {GREY};")
        self.reason = QLineEdit(placeholderText="例如 抽取时纪检监督人员未到场")
        self.reason_label = plain_label("重抽理由（必填，原抽取结果保留）")
        self.reason.setVisible(self.redraw_of is not None)
        self.reason_label.setVisible(self.redraw_of is not None)
        self.seed_error = error_label()
        self.next_button = QPushButton("下一步：确认")
        self.next_button.setProperty("role", "primary")
        self.next_button.setMinimumHeight(44)
        self.next_button.setDefault(True)
        self.next_button.clicked.connect(self._to_confirm)
        cancel = self.cancel_button = QPushButton("取消")
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(page)
        layout.addWidget(plain_label(f"{self.round_text}　随机种子"))
        layout.addLayout(seed_row)
        layout.addWidget(note)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason)
        layout.addWidget(self.seed_error)
        layout.addStretch()
        layout.addLayout(_buttons(cancel, self.next_button))
        return page

    def _confirm_page(self) -> QWidget:
        page = QWidget()
        self.summary = plain_label()
        self.summary.setStyleSheet("font-size: 13pt;")
        self.confirm_error = error_label()
        self.confirm_button = QPushButton("确认抽取")
        self.confirm_button.setProperty("role", "primary")
        self.confirm_button.setMinimumHeight(44)
        self.confirm_button.clicked.connect(self._draw)
        back = QPushButton("返回修改")
        back.setAutoDefault(False)
        back.clicked.connect(lambda: self.pages.setCurrentIndex(0))
        layout = QVBoxLayout(page)
        layout.addWidget(self.summary)
        layout.addWidget(self.confirm_error)
        layout.addStretch()
        layout.addLayout(_buttons(back, self.confirm_button))
        return page

    def _to_confirm(self) -> None:
        seed, reason = self.seed.text().strip(), self.reason.text().strip()
        problems = [] if seed else ["随机种子不能为空：请点“重新生成”或输入现场商定的种子"]
        if self.redraw_of is not None and not reason:
            problems.append("重新抽取必须说明理由")
        show_problems(self.seed_error, problems)
        if problems:
            return
        with self.store.session() as s:
            firms, people = draw_pool(s)
        lines = [f"将以种子 {seed} 进行{self.round_text}的抽取：从企业名录 {firms} 家中按风险等级抽取企业，"
                 f"从在岗执法人员 {people} 名中选派（避开回避）。",
                 "抽取结果、所用名录及每条排除原因将记入执法全过程记录，不能撤销或修改。"]
        if self.redraw_of is not None:
            lines.append(f"原抽取结果保留并标为“已被重抽取代”。重抽理由：{reason}")
        self.summary.setText("\n\n".join(lines))
        show_problems(self.confirm_error, [])
        self.pages.setCurrentIndex(1)
        self.confirm_button.setFocus()

    def _draw(self) -> None:
        try:
            with self.store.transaction(actor=OFFICE, label="plan_draw") as s:
                draw_id = draw_round(s, self.plan_id, self.seed.text(), redraw_of=self.redraw_of,
                                     reason=self.reason.text(), actor=OFFICE).id
        except ValidationError as exc:
            show_problems(self.confirm_error, [exc.message, *exc.problems])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.draw_id = draw_id
        self.accept()


def _buttons(left: QPushButton, right: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addStretch()
    row.addWidget(left)
    row.addWidget(right)
    return row


class AssignTeamDialog(QDialog):
    """指派检查组 for a 重点检查 task: tick at least two inspectors; those 不在岗 or under 回避
    for this enterprise are shown greyed with the reason and cannot be ticked (the draw's rule,
    models.draw.inspector_bar)."""

    def __init__(self, store: Store, task: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.task = store, task
        self.setWindowTitle(f"指派检查组：{task['enterprise']}")
        self.resize(620, 520)
        with store.session() as s:
            # Those who may go first; the barred ones after, with their reason.
            self.candidates = sorted(team_candidates(s, uuid.UUID(task["task_id"])),
                                     key=lambda c: c.bar is not None)
        self.people = QListWidget()
        self.people.setSpacing(4)
        self.people.setMinimumHeight(300)
        current = set(task["inspector_ids"])
        for c in self.candidates:
            text = f"{c.name}（{c.certificate_no}）" + (f" — {c.bar}" if c.bar else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, str(c.id))
            flags = Qt.ItemFlag.ItemIsUserCheckable
            item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if c.bar is None else flags)
            item.setCheckState(CHECKED if str(c.id) in current and c.bar is None else UNCHECKED)
            self.people.addItem(item)
        self.people.itemChanged.connect(lambda _i: self._count())
        note = plain_label("至少两名执法人员；不在岗或须回避的人员不能选（原因见其姓名后）。"
                           "指派记入执法全过程记录，随下次导出发往执法人员的电脑。")
        note.setStyleSheet(f"color: {GREY};")
        self.count = plain_label()
        self.problems = error_label()
        self.assign_button = QPushButton("指派")
        self.assign_button.setProperty("role", "primary")
        self.assign_button.setMinimumHeight(44)
        self.assign_button.clicked.connect(self._assign)
        cancel = QPushButton("取消")
        cancel.setMinimumHeight(44)
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count, 1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.assign_button)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(f"{task['enterprise']} · "
                                     f"{task['due_month']} 月底前完成"))
        layout.addWidget(self.people, 1)
        layout.addWidget(note)
        layout.addWidget(self.problems)
        layout.addLayout(buttons)
        self._count()

    def chosen(self) -> list[uuid.UUID]:
        return [uuid.UUID(self.people.item(n).data(Qt.ItemDataRole.UserRole))
                for n in range(self.people.count())
                if self.people.item(n).checkState() == CHECKED]

    def _count(self) -> None:
        self.count.setText(f"已选 {len(self.chosen())} 名")

    def _assign(self) -> None:
        try:
            with self.store.transaction(actor=OFFICE, label="plan_assign") as s:
                assign_team(s, uuid.UUID(self.task["task_id"]), self.chosen())
        except ValidationError as exc:
            show_problems(self.problems, exc.problems or [exc.message])
            return
        except FieldCheckError as exc:
            show_error(self, exc, "无法指派检查组")
            return
        self.accept()
