"""待检任务 (laptop): the tasks the office's plan handed to this laptop's inspectors;
「开始检查」 opens 新建检查 prefilled with the task's enterprise, team and checklists."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from models.base import utcnow
from models.inspection_rules import local_date
from models.plan_people import inspector_names
from models.plan_rules import OpenTask, open_tasks
from models.store import Store
from ui.tables import make_table
from ui.plan_dialogs import plain_label
from ui.plan_models import OpenTaskModel
from sync.agency import own_inspector_ids
from ui.style import GREY, RED


class TasksPanel(QWidget):
    def __init__(self, store: Store, main_window) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self.model = OpenTaskModel(self)
        title = QLabel("待检任务")
        title.setProperty("role", "title")
        self.summary = plain_label()
        self.start_button = QPushButton("开始检查")
        self.start_button.setProperty("role", "primary")
        self.start_button.setMinimumSize(160, 44)
        self.start_button.clicked.connect(self.start_selected)
        self.show_all = QCheckBox("显示全部任务（含其他执法人员的）")
        self.show_all.setMinimumHeight(36)
        self.show_all.toggled.connect(lambda _on: self.refresh())
        self.scope = plain_label()
        self.scope.setStyleSheet(f"color: {GREY};")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(12)
        top.addWidget(self.summary, 1)
        top.addWidget(self.show_all)
        top.addSpacing(12)
        top.addWidget(self.start_button)
        self.table = make_table(self.model, OpenTaskModel.COL_ENTERPRISE)
        self.table.activated.connect(lambda _i: self.start_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_button())
        self.empty = plain_label("暂无待检任务。办公室抽取后，任务随下次“从U盘导入”到达本机。")
        self.empty.setStyleSheet(f"color: {GREY}; font-size: 13pt;")
        note = plain_label("任务来自办公室的年度执法计划（双随机抽查或重点检查）。开始检查后，"
                           "检查定稿并导出到办公室即视为完成；红色为已过完成期限。")
        note.setStyleSheet(f"color: {GREY};")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.scope)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(note)
        self.refresh()

    def refresh(self) -> None:
        # This laptop's inspectors: keys held here and the enrollment's (sync.agency); with
        # none known yet there is nobody to filter by, so every task shows.
        own = own_inspector_ids(self.store.data_dir)
        mine_only = bool(own) and not self.show_all.isChecked()
        with self.store.session() as s:
            rows = open_tasks(s, local_date((self.store.clock or utcnow)()),
                              own if mine_only else None)
            names = inspector_names(s, own)
        self.model.set_rows(rows)
        late = sum(t.overdue for t in rows)
        self.summary.setText(f"共 {len(rows)} 项" + (f"，其中逾期 {late} 项" if late else ""))
        self.summary.setStyleSheet(f"color: {RED};" if late else "")
        self.show_all.setVisible(bool(own))
        if not own:
            self.scope.setText("本机尚无执法人员的签名密钥或登记，显示本计划的全部任务。")
        elif mine_only:
            self.scope.setText(f"只显示本机执法人员（{'、'.join(names)}）参加的任务。")
        else:
            self.scope.setText("显示全部任务，包括不属于本机执法人员的。")
        self.table.setVisible(bool(rows))
        self.empty.setVisible(not rows)
        if rows:
            self.table.selectRow(0)
        self._update_button()

    def selected(self) -> OpenTask | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def _update_button(self) -> None:
        self.start_button.setEnabled(self.selected() is not None)

    def start_selected(self) -> None:
        task = self.selected()
        if task is not None:
            self.main_window.start_task(task)
