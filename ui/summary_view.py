"""Before finalizing: counts per answer, every hazard (major first), what still blocks."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QTableView, QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from models.inspection import AnswerResult
from models.inspection_rules import finalize_inspection
from models.walk_queries import inspection_summary
from ui.documents_panel import DocumentsPanel
from ui.messages import confirm, show_error
from ui.style import GREEN, RED
from ui.walk_models import HazardTableModel

ItemRole = Qt.ItemDataRole.UserRole + 1


class SummaryView(QWidget):
    jump_to_item = Signal(object)  # checklist item id
    back = Signal()
    finalized = Signal()

    def __init__(self, store, inspection_id, actor: str) -> None:
        super().__init__()
        self.store, self.inspection_id, self.actor = store, inspection_id, actor
        title = QLabel("检查小结")
        title.setProperty("role", "title")
        self.counts = QLabel()
        self.counts.setObjectName("summary_counts")
        self.counts.setStyleSheet("font-size: 13pt;")
        self.hazard_model = HazardTableModel()
        self.hazards = QTableView()
        self.hazards.setModel(self.hazard_model)
        self.hazards.verticalHeader().hide()
        self.hazards.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        header = self.hazards.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(HazardTableModel.COL_DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.hazards.doubleClicked.connect(
            lambda idx: self.jump_to_item.emit(self.hazard_model.hazard_at(idx.row()).item_id))
        self.blockers_title = QLabel()
        self.blockers = QListWidget()
        self.blockers.setObjectName("blockers")
        self.blockers.itemActivated.connect(self._jump)
        self.blockers.itemClicked.connect(self._jump)
        back = QPushButton("◀ 返回检查项")
        back.clicked.connect(self.back.emit)
        self.finalize_button = QPushButton("确认定稿")
        self.finalize_button.setObjectName("finalize")
        self.finalize_button.setProperty("role", "primary")
        self.finalize_button.setMinimumHeight(48)
        self.finalize_button.clicked.connect(self.finalize)
        buttons = QHBoxLayout()
        buttons.addWidget(back)
        buttons.addStretch()
        buttons.addWidget(self.finalize_button)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.counts)
        layout.addWidget(QLabel("发现的隐患（重大隐患在前；双击转到该检查项）："))
        layout.addWidget(self.hazards, 2)
        layout.addWidget(self.blockers_title)
        layout.addWidget(self.blockers, 1)
        self.documents = DocumentsPanel(store, inspection_id, actor, self)
        layout.addWidget(self.documents)
        layout.addLayout(buttons)

    def refresh(self) -> None:
        with self.store.session() as s:
            summary = inspection_summary(s, self.inspection_id)
            finalized = summary.inspection.is_finalized
            serial = (summary.inspection.case_year, summary.inspection.case_serial)
        c = summary.counts
        major = sum(h.is_major for h in summary.hazards)
        self.counts.setText(
            f"符合 {c.get(AnswerResult.COMPLIANT, 0)} 项 · 不符合 {c.get(AnswerResult.NONCOMPLIANT, 0)} 项 · "
            f"不适用 {c.get(AnswerResult.NOT_APPLICABLE, 0)} 项 · 未回答 {summary.unanswered} 项　　"
            f"隐患 {len(summary.hazards)} 项（其中重大隐患 {major} 项）")
        self.hazard_model.set_rows(summary.hazards)
        self.blockers.clear()
        for blocker in summary.blockers:
            entry = QListWidgetItem(blocker.text)
            entry.setData(ItemRole, blocker.item_id)
            self.blockers.addItem(entry)
        colour = GREEN if finalized or not summary.blockers else RED
        self.blockers_title.setStyleSheet(f"color: {colour}; font-weight: bold;")
        if finalized:
            self.blockers_title.setText(f"已定稿（案件编号 {serial[0]} 年第 {serial[1]} 号），内容不可再修改")
        elif summary.blockers:
            self.blockers_title.setText(f"尚不能定稿，还有 {len(summary.blockers)} 处待补全（点击转到该项）：")
        else:
            self.blockers_title.setText("全部检查项已完成，可以定稿。")
        self.blockers.setVisible(bool(summary.blockers))
        self.finalize_button.setVisible(not finalized)
        self.finalize_button.setEnabled(not summary.blockers)
        self.documents.refresh()

    def _jump(self, entry: QListWidgetItem) -> None:
        item_id = entry.data(ItemRole)
        if item_id is not None:
            self.jump_to_item.emit(item_id)

    def finalize(self) -> None:
        if not confirm(self, "确认定稿", "定稿后本次检查的所有内容都不能再修改，是否定稿？",
                       yes="定稿", no="再检查一下"):
            return
        try:
            with self.store.transaction(actor=self.actor, label="finalize_inspection") as s:
                finalize_inspection(s, self.inspection_id)
        except FieldCheckError as exc:
            show_error(self, exc, "无法定稿")
            self.refresh()
            return
        from ui.app import warn_case_range
        warn_case_range(self.store, self)  # 90 % of this laptop's case numbers used: say so now
        self.finalized.emit()
