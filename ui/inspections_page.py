"""The home page: the latest inspections, unfinished first, one click to open."""
from __future__ import annotations

import uuid
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from models.inspection import InspectionStatus
from models.local_time import agency_text
from models.reports import inspection_row, list_inspections
from ui.style import AMBER, RED
from ui.table_model import RowTableModel

PAGE_SIZE = 100


class InspectionTableModel(RowTableModel):
    COL_STARTED, COL_ENTERPRISE, COL_PLACE, COL_STATUS, COL_HAZARDS = range(5)
    HEADERS = ("检查时间", "被检查单位", "检查场所", "状态", "隐患（重大）")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.COL_STATUS and row["status"] == InspectionStatus.IN_PROGRESS.value:
                return QColor(AMBER)
            if col == self.COL_HAZARDS and row["major_hazards"]:
                return QColor(RED)
        return None

    def _text(self, row: dict, col: int) -> str:
        if col == self.COL_STARTED:
            return row["started_local"]
        if col == self.COL_ENTERPRISE:
            return row["enterprise"]
        if col == self.COL_PLACE:
            return row["place"]
        if col == self.COL_STATUS:
            return row["status_label"]
        return f"{row['hazards']}（{row['major_hazards']}）" if row["hazards"] else "无"


class InspectionsPage(QWidget):
    def __init__(self, store, main_window) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self.model = InspectionTableModel()
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        # Fixed widths: ResizeToContents would read every cell of every row at each show.
        header = self.table.horizontalHeader()
        for col, width in ((InspectionTableModel.COL_STARTED, 170), (InspectionTableModel.COL_ENTERPRISE, 300),
                           (InspectionTableModel.COL_STATUS, 90), (InspectionTableModel.COL_HAZARDS, 120)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(InspectionTableModel.COL_PLACE, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._open_selected)
        self.status_filter = QComboBox()
        for label, value in (("全部", None), ("检查中", InspectionStatus.IN_PROGRESS),
                             ("已定稿", InspectionStatus.FINALIZED)):
            self.status_filter.addItem(label, value)
        self.status_filter.currentIndexChanged.connect(self.refresh)
        open_button = QPushButton("打开所选检查")
        open_button.setObjectName("open_inspection")
        open_button.clicked.connect(self._open_selected)
        title = QLabel("现场检查")
        title.setProperty("role", "title")
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch()
        top.addWidget(QLabel("状态："))
        top.addWidget(self.status_filter)
        top.addWidget(open_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.refresh()

    def refresh(self) -> None:
        with self.store.session() as s:
            rows = [inspection_row(*r) for r in list_inspections(
                s, status=self.status_filter.currentData(), limit=PAGE_SIZE)]
        for row in rows:
            row["started_local"] = _local(row["started_at"])
        self.model.set_rows(rows)

    def _open_selected(self, *_args) -> None:
        selected = self.table.selectionModel().selectedRows()
        if selected:
            row = self.model.row_at(selected[0].row())
            self.main_window.open_inspection(uuid.UUID(row["id"]))


def _local(iso: str) -> str:
    return agency_text(datetime.fromisoformat(iso))
