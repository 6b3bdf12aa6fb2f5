"""执法计划 (office): the year's plan by month, its 双随机 draws with their exclusions,
核验 (replay), 公示 (publication file) and progress by class and area."""
from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from documents.plan_publication import save_publication
from models.base import utcnow
from models.errors import FieldCheckError
from models.inspection_rules import local_date
from models.plan_publication import publication
from models.plan_rules import focus_tasks, plan_progress, verify_plan
from models.plan_views import DrawView, PlanOverview, draw_views, plan_overview
from models.store import Store
from ui.tables import make_table
from ui.messages import show_error
from ui.plan_dialogs import AssignTeamDialog, CreatePlanDialog, DrawDialog, plain_label
from ui.plan_models import (DrawTaskModel, ExclusionModel, FocusTaskModel, MonthModel,
                            ProgressModel)
from ui.style import GREEN, GREY, RED

PUBLISH_FILTERS = "Excel 表格 (*.xlsx);;PDF 文件 (*.pdf)"


class PlanPage(QWidget):
    def __init__(self, store: Store, main_window=None) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self.overview: PlanOverview | None = None
        self.draws: list[DrawView] = []
        self.dialog = None  # the create/draw dialog while it is open
        # Where 公示 goes; tests replace it the way a user answers the file dialog.
        self.ask_publish_path = self._ask_publish_path
        self.months, self.tasks = MonthModel(self), DrawTaskModel(self)
        self.exclusions, self.progress = ExclusionModel(self), ProgressModel(self)
        self.focus_tasks = FocusTaskModel(self)
        self._build()
        self.year.setValue(self._today().year)
        self.refresh()

    def _today(self):
        return local_date((self.store.clock or utcnow)())

    # Layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._top_row())
        self.state = plain_label()
        self.state.setStyleSheet("font-size: 13pt;")
        layout.addWidget(self.state)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._months_column())
        splitter.addWidget(self._tabs())
        splitter.setSizes([330, 840])
        layout.addWidget(splitter, 1)
        self.result = plain_label()
        layout.addWidget(self.result)

    def _top_row(self) -> QHBoxLayout:
        title = QLabel("执法计划")
        title.setProperty("role", "title")
        self.year = QSpinBox(minimum=2000, maximum=2100, suffix=" 年度")
        self.year.setMinimumWidth(140)
        self.year.valueChanged.connect(lambda _y: self.refresh())
        self.create_button = QPushButton("编制计划…")
        self.draw_button = QPushButton("抽取…")
        self.redraw_button = QPushButton("重抽…")
        self.verify_button = QPushButton("核验")
        self.publish_button = QPushButton("公示…")
        self.draw_button.setProperty("role", "primary")
        self.redraw_button.setToolTip("对所选的一次抽取重新抽取：须说明理由，原结果保留")
        self.verify_button.setToolTip("按记录的种子和名录重放每次抽取，检查结果是否完全一致")
        self.publish_button.setToolTip("保存“一公开”清单（.xlsx 或 .pdf），不含电话、证件号和企业人员姓名")
        for button, slot in ((self.create_button, self.create_plan), (self.draw_button, self.draw),
                             (self.redraw_button, self.redraw), (self.verify_button, self.verify),
                             (self.publish_button, self.publish)):
            button.setMinimumHeight(44)
            button.clicked.connect(slot)
        row = QHBoxLayout()
        row.setSpacing(10)
        row.addWidget(title)
        row.addSpacing(8)
        row.addWidget(self.year)
        row.addStretch()
        for button in (self.create_button, self.draw_button, self.redraw_button,
                       self.verify_button, self.publish_button):
            row.addWidget(button)
        return row

    def _months_column(self) -> QWidget:
        self.months_table = make_table(self.months, MonthModel.COL_MONTH)
        self.months_table.verticalHeader().setDefaultSectionSize(30)
        self.focus_label = plain_label()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(plain_label("每月需检查与检查组"))
        column.addWidget(self.months_table, 1)
        column.addWidget(self.focus_label)
        return box

    def _tabs(self) -> QTabWidget:
        self.draw_choice = QComboBox()
        self.draw_choice.setMinimumHeight(40)
        self.draw_choice.currentIndexChanged.connect(lambda _i: self._show_draw())
        self.draw_note = plain_label()
        self.tasks_table = make_table(self.tasks, DrawTaskModel.COL_ENTERPRISE)
        self.exclusions_table = make_table(self.exclusions, ExclusionModel.COL_REASON)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        for label, table in (("抽中的企业与执法人员", self.tasks_table),
                             ("排除及原因（回避、不在岗、已达上限……）", self.exclusions_table)):
            part = QWidget()
            column = QVBoxLayout(part)
            column.setContentsMargins(0, 4, 0, 0)
            column.addWidget(plain_label(label))
            column.addWidget(table, 1)
            split.addWidget(part)
        split.setSizes([300, 180])
        draws = QWidget()
        column = QVBoxLayout(draws)
        column.addWidget(self.draw_choice)
        column.addWidget(self.draw_note)
        column.addWidget(split, 1)
        self.progress_table = make_table(self.progress, ProgressModel.COL_GROUP)
        header = self.progress_table.horizontalHeader()
        for col in (ProgressModel.COL_DONE, ProgressModel.COL_DUE, ProgressModel.COL_OVERDUE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, 150)  # the figures are what the office reads here
        self.tabs = QTabWidget()
        self.tabs.addTab(draws, "抽取结果")
        self.tabs.addTab(self._focus_tab(), "重点检查")
        self.tabs.addTab(self.progress_table, "完成进度")
        return self.tabs

    def _focus_tab(self) -> QWidget:
        self.focus_table = make_table(self.focus_tasks, FocusTaskModel.COL_ENTERPRISE)
        self.focus_table.activated.connect(lambda _i: self.assign())
        self.focus_table.selectionModel().selectionChanged.connect(lambda *_: self._update_assign())
        self.assign_button = QPushButton("指派检查组…")
        self.assign_button.setMinimumHeight(44)
        self.assign_button.setToolTip("为所选重点检查任务指派至少两名执法人员（遵守回避与在岗）")
        self.assign_button.clicked.connect(self.assign)
        row = QHBoxLayout()
        row.addWidget(plain_label("重点检查不参与抽取：由办公室指派检查组，随下次导出发往执法人员的电脑。"), 1)
        row.addWidget(self.assign_button)
        box = QWidget()
        column = QVBoxLayout(box)
        column.addLayout(row)
        column.addWidget(self.focus_table, 1)
        return box

    def selected_focus(self) -> dict | None:
        index = self.focus_table.currentIndex()
        return self.focus_tasks.row_at(index.row()) if index.isValid() else None

    def _update_assign(self) -> None:
        self.assign_button.setEnabled(self.selected_focus() is not None)

    def assign(self) -> None:
        task = self.selected_focus()
        if task is None:
            return
        self._open(AssignTeamDialog(self.store, task, self), lambda d: self._assigned(task))

    def _assigned(self, task: dict) -> None:
        self.refresh()
        for row, t in enumerate(self.focus_tasks.rows):
            if t["task_id"] == task["task_id"]:
                self.focus_table.selectRow(row)
                self._say(f"已为 {t['enterprise']} 指派检查组：{'、'.join(t['team'])}；"
                          "任务将随下次导出发往执法人员的电脑。", GREEN)

    # Data
    def refresh(self) -> None:
        with self.store.session() as s:
            self.overview = plan_overview(s, self.year.value())
            self.draws = draw_views(s, self.overview.id) if self.overview else []
            progress = plan_progress(s, self.overview.id, self._today()) if self.overview else None
            focus = focus_tasks(s, self.overview.id) if self.overview else []
        o = self.overview
        self.months.set_rows(o.months if o else [])
        self.progress.set_rows(ProgressModel.rows_from(progress) if progress else [])
        self.focus_tasks.set_rows(focus)
        if self.focus_tasks.rows:
            self.focus_table.selectRow(0)
        self._update_assign()
        self.focus_label.setText(("重点检查：" + ("、".join(o.focus) or "无")) if o else "")
        self._fill_draw_choice()
        self._update_state()

    def _update_state(self) -> None:
        o = self.overview
        if o is None:
            text = f"{self.year.value()} 年度尚未编制执法计划。点“编制计划…”开始。"
        else:
            total = sum(m.inspections for m in o.months)
            drawn = len({d.round for d in self.draws})
            text = f"{o.year} 年度执法计划：全年 {total} 家次，分 {o.rounds} 轮抽取，已抽 {drawn} 轮。"
            if o.next_round:
                first, last = o.next_round_months
                text += f"下一轮：第 {o.next_round} 轮（{first}–{last} 月）。"
            else:
                text += "各轮均已抽取。"
        self.state.setText(text)
        self.create_button.setEnabled(o is None)
        self.draw_button.setEnabled(o is not None and o.next_round is not None)
        self.draw_button.setText(f"抽取第 {o.next_round} 轮…" if o and o.next_round else "抽取…")
        selected = self.selected_draw()
        self.redraw_button.setEnabled(selected is not None and not selected.replaced)
        self.verify_button.setEnabled(bool(self.draws))
        self.publish_button.setEnabled(o is not None)

    def _fill_draw_choice(self) -> None:
        keep = self.draw_choice.currentData()
        self.draw_choice.blockSignals(True)
        self.draw_choice.clear()
        for d in self.draws:
            self.draw_choice.addItem(d.title, str(d.id))  # findData cannot match a UUID
        index = self.draw_choice.findData(keep) if keep else 0
        self.draw_choice.setCurrentIndex(max(index, 0) if self.draws else -1)
        self.draw_choice.blockSignals(False)
        self._show_draw()

    def selected_draw(self) -> DrawView | None:
        draw_id = self.draw_choice.currentData()
        return next((d for d in self.draws if str(d.id) == draw_id), None)

    def _show_draw(self) -> None:
        d = self.selected_draw()
        self.tasks.set_rows(d.tasks if d else [])
        self.exclusions.set_rows(d.exclusions if d else [])
        if d is None:
            note = "尚未抽取。"
        else:
            note = f"抽中 {len(d.tasks)} 家企业；排除 {len(d.exclusions)} 项。抽取人：{d.drawn_by or '—'}"
            if d.reason:
                note += f"\n重抽理由：{d.reason}"
        self.draw_note.setText(note)
        if self.overview is not None:
            selected = self.selected_draw()
            self.redraw_button.setEnabled(selected is not None and not selected.replaced)

    # Actions
    def _open(self, dialog, done) -> None:
        # open(), not exec(): window-modal without a nested event loop (tests drive it).
        dialog.accepted.connect(lambda: done(dialog))
        dialog.finished.connect(lambda _r: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def create_plan(self) -> None:
        self._open(CreatePlanDialog(self.store, self.year.value(), self), lambda _d: self._done(
            f"已编制 {self.year.value()} 年度执法计划。"))

    def draw(self) -> None:
        o = self.overview
        if o is None or o.next_round is None:
            return
        first, last = o.next_round_months
        dialog = DrawDialog(self.store, o.id, f"第 {o.next_round} 轮（{first}–{last} 月）", self)
        self._open(dialog, lambda d: self._drawn(d.draw_id, "抽取完成"))

    def redraw(self) -> None:
        old = self.selected_draw()
        if self.overview is None or old is None or old.replaced:
            return
        text = f"第 {old.round} 轮（取代种子 {old.seed} 的抽取）"
        dialog = DrawDialog(self.store, self.overview.id, text, self, redraw_of=old.id)
        self._open(dialog, lambda d: self._drawn(d.draw_id, "重抽完成，原抽取结果已保留"))

    def _drawn(self, draw_id: uuid.UUID, text: str) -> None:
        self.refresh()
        self.draw_choice.setCurrentIndex(self.draw_choice.findData(str(draw_id)))
        self.tabs.setCurrentIndex(0)
        self._say(f"{text}：抽中 {self.tasks.rowCount()} 家企业，任务将随下次导出发往执法人员的电脑。", GREEN)

    def _done(self, text: str) -> None:
        self.refresh()
        self._say(text, GREEN)

    def verify(self) -> None:
        if self.overview is None:
            return
        with self.store.session() as s:
            problems = verify_plan(s, self.overview.id)
        if problems:
            self._say("核验不通过：\n" + "\n".join(f"· {p}" for p in problems), RED)
        else:
            self._say(f"核验通过：{len(self.draws)} 次抽取按记录重放，结果完全一致。", GREEN)

    def _ask_publish_path(self) -> str:
        name = str(Path.home() / f"{self.year.value()}年度双随机抽查结果公示.xlsx")
        path, chosen = QFileDialog.getSaveFileName(self, "保存公示清单", name, PUBLISH_FILTERS)
        if path and not Path(path).suffix:  # a name typed without its ending: the chosen type's
            path += ".pdf" if "pdf" in chosen else ".xlsx"
        return path

    def publish(self) -> None:
        if self.overview is None:
            return
        path = self.ask_publish_path()
        if not path:
            return
        try:
            with self.store.session() as s:
                pub = publication(s, self.overview.id)
            save_publication(pub, Path(path))
        except FieldCheckError as exc:
            show_error(self, exc, "无法保存公示清单")
            return
        self._say(f"已保存公示清单（{len(pub.results)} 家企业）：{path}", GREEN)

    def _say(self, text: str, colour: str = GREY) -> None:
        self.result.setText(text)
        self.result.setStyleSheet(f"color: {colour}; font-size: 12pt;")
