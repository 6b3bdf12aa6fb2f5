"""The enterprise register (企业台账): search, sort, add, edit; one firm's history and hazards."""
from __future__ import annotations

import uuid
from html import escape

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QTabWidget,
                               QVBoxLayout, QWidget)

from models.base import utcnow
from models.local_time import agency_date
from models.register_queries import enterprise_history, list_enterprises, open_hazards
from models.store import Store
from ui.enterprise_dialog import EnterpriseDialog
from ui.plain_text import rich
from ui.style import page_top_row
from ui.tables import make_table
from ui.enterprise_models import (ID_ROLE, SORT_ROLE, EnterpriseTableModel, HistoryModel,
                                  OpenHazardModel)

NO_SELECTION_HINT = "在上方选择一家企业，查看其检查记录和未整改隐患"


class EnterprisePage(QWidget):
    def __init__(self, store: Store, main_window) -> None:
        super().__init__()
        self.store = store
        self.main_window = main_window
        self.dialog: EnterpriseDialog | None = None  # the add/edit dialog while it is open
        self.model = EnterpriseTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setSortLocaleAware(True)
        self.history_model, self.hazard_model = HistoryModel(self), OpenHazardModel(self)
        self._build()
        self.refresh()

    # Layout
    def _build(self) -> None:
        self.table = make_table(self.proxy, EnterpriseTableModel.COL_ADDRESS)
        # The phone is in the detail line below; the address needs the room more at 1366 px.
        self.table.setColumnHidden(EnterpriseTableModel.COL_PHONE, True)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(EnterpriseTableModel.COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.activated.connect(lambda _index: self.edit_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self._build_detail())
        splitter.setSizes([330, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._build_top_row())
        layout.addWidget(splitter, 1)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)
        chain = (self.search, self.table, self.add_button, self.edit_button,
                 self.inspect_button, self.tabs, self.history_table, self.hazard_table)
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _build_top_row(self) -> QHBoxLayout:
        title = QLabel("企业台账")
        title.setProperty("role", "title")
        self.search = QLineEdit()
        self.search.setPlaceholderText("搜索单位名称、信用代码、地址或乡镇")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _text: self.refresh())
        self.search.returnPressed.connect(self.table.setFocus)  # then arrows and Enter
        self.count_label = QLabel()
        self.add_button = QPushButton("新增企业(&N)")
        self.edit_button = QPushButton("编辑(&E)")
        self.inspect_button = QPushButton("对该企业新建检查(&I)")
        self.inspect_button.setProperty("role", "primary")
        self.add_button.clicked.connect(lambda: self._open_dialog(None))
        self.edit_button.clicked.connect(self.edit_selected)
        self.inspect_button.clicked.connect(self.inspect_selected)
        self.reinspect_button = QPushButton("复查(&R)")
        self.reinspect_button.setToolTip("对该企业已下达整改指令的隐患进行复查")
        self.reinspect_button.clicked.connect(self.reinspect_selected)
        return page_top_row(title, self.search, (self.add_button, self.edit_button,
                                                 self.reinspect_button, self.inspect_button),
                            extras=(self.count_label,))

    def _build_detail(self) -> QWidget:
        self.detail_title = rich(QLabel(NO_SELECTION_HINT))
        self.detail_title.setWordWrap(True)
        self.history_table = make_table(self.history_model, HistoryModel.COL_PLACE)
        self.history_table.activated.connect(self._open_history_row)
        self.hazard_table = make_table(self.hazard_model, OpenHazardModel.COL_DESCRIPTION)
        self.hazard_table.activated.connect(self._open_hazard_row)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.history_table, "检查记录")
        self.tabs.addTab(self.hazard_table, "未整改隐患")
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 8, 0, 0)
        column.addWidget(self.detail_title)
        column.addWidget(self.tabs, 1)
        return box

    # Data
    def refresh(self) -> None:
        """Reload the register (keeping the search and the selected enterprise)."""
        keep = self.selected_id()
        with self.store.session() as s:
            self.model.set_rows(list_enterprises(s, self.search.text()))
        self._update_count()
        # Keep the enterprise the user was looking at; else show the first one's details.
        if not (keep is not None and self.select_enterprise(keep)) and self.proxy.rowCount():
            self.select_enterprise(self.proxy.index(0, 0).data(ID_ROLE))
        self._selection_changed()

    def _update_count(self) -> None:
        shown = self.model.rowCount()
        if self.search.text().strip():
            self.count_label.setText(f"找到 {shown} 家" if shown else "没有符合的企业")
        else:
            self.count_label.setText(f"共 {shown} 家" if shown else "台账中还没有企业")

    def selected_id(self) -> uuid.UUID | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(ID_ROLE) if rows else None

    def select_enterprise(self, enterprise_id: uuid.UUID) -> bool:
        """Select and show the enterprise's row; False when it is not in the table."""
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(ID_ROLE) == enterprise_id:
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)
                return True
        return False

    def _selection_changed(self) -> None:
        enterprise_id = self.selected_id()
        self.edit_button.setEnabled(enterprise_id is not None)
        self.inspect_button.setEnabled(enterprise_id is not None)
        if enterprise_id is None:
            self.history_model.set_rows([])
            self.hazard_model.set_rows([])
        else:
            today = agency_date((self.store.clock or utcnow)())
            with self.store.session() as s:
                self.history_model.set_rows(enterprise_history(s, enterprise_id))
                self.hazard_model.set_rows(open_hazards(s, enterprise_id, today))
        self._update_detail_labels()

    def _update_detail_labels(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        row = self.model.rows[self.proxy.mapToSource(rows[0]).row()] if rows else None
        if row is None:
            self.detail_title.setText(NO_SELECTION_HINT)
        else:
            parts = [f"<b>{escape(row.name)}</b>"] + [
                f"{label} {escape(value)}" for label, value in (
                    ("负责人", row.legal_representative), ("电话", row.phone),
                    ("地址", row.address), ("乡镇/街道", row.township),
                    ("定级", row.risk_basis)) if value]
            self.detail_title.setText("　·　".join(parts))
        self.tabs.setTabText(0, f"检查记录（{self.history_model.rowCount()}）")
        self.tabs.setTabText(1, f"未整改隐患（{self.hazard_model.rowCount()}）")

    # Actions
    def edit_selected(self) -> None:
        enterprise_id = self.selected_id()
        if enterprise_id is not None:
            self._open_dialog(enterprise_id)

    def inspect_selected(self) -> None:
        enterprise_id = self.selected_id()
        if enterprise_id is not None:
            self.main_window.new_inspection(enterprise_id)

    def reinspect_selected(self) -> None:
        enterprise_id = self.selected_id()
        if enterprise_id is not None:
            self.main_window.open_reinspection(enterprise_id=enterprise_id)

    def _open_dialog(self, enterprise_id: uuid.UUID | None) -> None:
        # open(), not exec(): window-modal without a nested event loop.
        dialog = EnterpriseDialog(self.store, self, enterprise_id)
        dialog.accepted.connect(lambda: self._saved(dialog))
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog))
        self.dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: EnterpriseDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()

    def _saved(self, dialog: EnterpriseDialog) -> None:
        self.refresh()
        if dialog.enterprise_id is not None:
            self.select_enterprise(dialog.enterprise_id)

    def _open_history_row(self, index) -> None:
        self.main_window.open_inspection(index.data(ID_ROLE))

    def _open_hazard_row(self, index) -> None:
        row = self.hazard_model.rows[index.row()]
        self.main_window.open_inspection(row.inspection_id, row.item_id)
