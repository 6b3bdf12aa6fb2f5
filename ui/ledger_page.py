"""The hazard ledger (隐患台账): every ordered hazard, filtered, a page at a time; statistics."""
from __future__ import annotations

import sys
import uuid
from datetime import date
from html import escape
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox,
                               QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTabWidget, QVBoxLayout, QWidget)

from models.base import utcnow
from models.errors import FieldCheckError
from models.excel_ledger import export_ledger
from models.local_time import agency_date
from models.ledger import (DUE, NOT_RECTIFIED, OVERDUE, STATUSES, TO_RECTIFY, LedgerFilter, LedgerPage as Page, ledger_areas,
                           ledger_enterprises, ledger_page, ledger_row)
from models.reinspection_rules import TRACKING_AT_OFFICE, set_major_tracking
from models.store_mode import is_office_store
from ui.ledger_models import ID_ROLE, LedgerTableModel, short_clause
from ui.messages import show_error
from ui.style import page_top_row
from ui.session_worker import SessionWorker
from ui.plain_text import rich
from ui.stats_view import StatsView
from ui.tables import make_table

PAGE_SIZE = 100
ALL = "__all__"
# The status choices: each single status, plus the due list's pair.
# The first is the default: every hazard not closed off, the ones just ordered included.
OPEN_STATUSES = frozenset({TO_RECTIFY, DUE, OVERDUE, NOT_RECTIFIED})
STATUS_CHOICES = (("未销号", OPEN_STATUSES), ("全部状态", frozenset()),
                  ("待复查＋逾期", frozenset({DUE, OVERDUE}))) + tuple(
    (s, frozenset({s})) for s in STATUSES)


def today_of(store) -> date:
    return agency_date((store.clock or utcnow)())


def _combo(items) -> QComboBox:
    combo = QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    return combo


class MajorTrackingDialog(QDialog):
    """一单四制 of one major hazard: 台账编号, 通报日期; 交办 is shown (the office assigns on
    its 办公室 page, models.assignment_rules); 销号 comes from re-inspection."""

    def __init__(self, parent, row) -> None:
        super().__init__(parent)
        self.setWindowTitle("重大隐患一单四制")
        self.assigned = QLabel(assignment_text(row))
        self.assigned.setTextFormat(Qt.TextFormat.PlainText)
        self.assigned.setWordWrap(True)
        self.ledger_no = QLineEdit(row.ledger_no)
        self.reported = QCheckBox("已通报")
        self.reported_on = QDateEdit()
        self.reported_on.setCalendarPopup(True)
        self.reported_on.setDisplayFormat("yyyy-MM-dd")
        self.reported.setChecked(row.reported_on is not None)
        self.reported_on.setDate(row.reported_on or today_of(parent.store))
        self.reported_on.setEnabled(self.reported.isChecked())
        self.reported.toggled.connect(self.reported_on.setEnabled)
        form = QFormLayout(self)
        form.addRow(rich(QLabel(f"<b>{escape(row.enterprise)}</b><br>{escape(row.description)}")))
        form.addRow("交办：", self.assigned)
        form.addRow("台账编号：", self.ledger_no)
        when = QHBoxLayout()
        when.addWidget(self.reported)
        when.addWidget(self.reported_on, 1)
        form.addRow("通报：", when)
        closed = row.closed_on.isoformat() if row.closed_on else "尚未销号"
        form.addRow("销号：", QLabel(closed))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("保存")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons
        form.addRow(buttons)

    def values(self) -> dict:
        reported = self.reported_on.date().toPython() if self.reported.isChecked() else None
        return {"ledger_no": self.ledger_no.text(), "reported_on": reported}


def assignment_text(row) -> str:
    """交办 of a ledger row in one line: unit, deadline, state (or how to get it assigned)."""
    if row.assignment is None:
        return (f"{row.assigned_to}（无交办记录）" if row.assigned_to
                else "未交办（由办公室在「办公室」页交办）")
    from ui.office_models import assignment_state_text
    return (f"{row.assignment.assignee}，期限 {row.assignment.deadline.isoformat()}"
            f"（{assignment_state_text(row)}）")


class LedgerPage(QWidget):
    exported = Signal(int)  # rows written to the Excel file

    def __init__(self, store, main_window) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self._export_worker: SessionWorker | None = None
        self.model = LedgerTableModel(self)
        self.page = Page([], 0)
        self.offset = 0
        self._loading = False
        self._build()
        self.refresh()

    # Layout
    def _build(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_ledger_tab(), "台账")
        self.stats = StatsView()
        self.tabs.addTab(self.stats, "统计")
        self.tabs.currentChanged.connect(lambda _i: self._update_stats())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._build_top_row())
        layout.addLayout(self._build_filter_row())
        layout.addWidget(self.tabs, 1)

    def _build_top_row(self) -> QHBoxLayout:
        title = QLabel("隐患台账")
        title.setProperty("role", "title")
        self.search = QLineEdit()
        self.search.setPlaceholderText("搜索单位名称、检查项编号或隐患描述")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self._filter_changed())
        self.reinspect_button = QPushButton("复查(&R)")
        self.reinspect_button.setProperty("role", "primary")
        self.tracking_button = QPushButton("一单四制(&M)…")
        # 台账 and 通报 are the office's steps (sync.authority refuses a laptop's): a laptop
        # shows them in the detail line and says who records them.
        self.tracks_here = is_office_store(self.store.data_dir, self.store.backend)
        self.tracking_button.setToolTip("登记重大隐患的台账编号和通报日期" if self.tracks_here
                                        else TRACKING_AT_OFFICE)
        self.export_button = QPushButton("导出 Excel(&X)")
        self.reinspect_button.clicked.connect(self.reinspect_selected)
        self.tracking_button.clicked.connect(self.edit_tracking)
        self.export_button.clicked.connect(self.export)
        return page_top_row(title, self.search,
                            (self.tracking_button, self.export_button, self.reinspect_button))

    def _build_filter_row(self) -> QHBoxLayout:
        self.status = _combo(STATUS_CHOICES)
        self.area = QComboBox()
        self.enterprise = QComboBox()
        self.enterprise.setMinimumWidth(220)
        self.major_only = QCheckBox("仅重大隐患")
        self.by_date = QCheckBox("发现日期")
        self.found_from, self.found_to = QDateEdit(), QDateEdit()
        for edit in (self.found_from, self.found_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
            edit.dateChanged.connect(lambda _d: self._filter_changed())
        self.sort = _combo((("期限由近到远", False), ("期限由远到近", True)))
        for combo in (self.status, self.area, self.enterprise, self.sort):
            combo.currentIndexChanged.connect(lambda _i: self._filter_changed())
        self.major_only.toggled.connect(lambda _on: self._filter_changed())
        self.by_date.toggled.connect(self._date_toggled)
        row = QHBoxLayout()
        row.setSpacing(8)
        for widget in (self.status, self.area, self.enterprise, self.major_only, self.by_date,
                       self.found_from, QLabel("至"), self.found_to, self.sort):
            row.addWidget(widget)
        row.addStretch()
        return row

    def _build_ledger_tab(self) -> QWidget:
        # Fits 1366 px: short columns as wide as their text, the enterprise as wide as a usual
        # name, the hazard takes the rest; what is cut shows whole in its tooltip.
        table = make_table(self.model, LedgerTableModel.COL_ITEM)
        header = table.horizontalHeader()
        header.setSectionResizeMode(LedgerTableModel.COL_ENTERPRISE, QHeaderView.ResizeMode.Interactive)
        for col in (LedgerTableModel.COL_ASSIGNED, LedgerTableModel.COL_LEDGER_NO):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(col, table.fontMetrics().horizontalAdvance("湘乡经开区安监") + 16)
        table.setColumnWidth(LedgerTableModel.COL_ENTERPRISE,
                             table.fontMetrics().horizontalAdvance("湘乡市恒达木业有限公司") + 16)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        table.activated.connect(lambda _i: self.reinspect_selected())
        self.table = table
        self.detail = QLabel("选择一条隐患查看详情")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setMinimumHeight(48)
        self.count_label = QLabel()
        self.prev_button, self.next_button = QPushButton("上一页"), QPushButton("下一页")
        self.prev_button.clicked.connect(lambda: self._go(self.offset - PAGE_SIZE))
        self.next_button.clicked.connect(lambda: self._go(self.offset + PAGE_SIZE))
        paging = QHBoxLayout()
        paging.addWidget(self.count_label, 1)
        paging.addWidget(self.prev_button)
        paging.addWidget(self.next_button)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 6, 0, 0)
        column.addWidget(table, 1)
        column.addWidget(self.detail)
        column.addLayout(paging)
        return box

    # Filters
    def current_filter(self) -> LedgerFilter:
        area, enterprise = self.area.currentData(), self.enterprise.currentData()
        dates = self.by_date.isChecked()
        return LedgerFilter(
            statuses=self.status.currentData() or frozenset(),
            area="" if area in (None, ALL) else area,
            enterprise_id=None if enterprise in (None, ALL) else enterprise,
            major_only=self.major_only.isChecked(),
            found_from=self.found_from.date().toPython() if dates else None,
            found_to=self.found_to.date().toPython() if dates else None,
            search=self.search.text())

    def apply_filter(self, flt: LedgerFilter) -> None:
        """Show the ledger filtered as `flt` says (the widgets follow)."""
        self._loading = True
        try:
            choices = [c for _t, c in STATUS_CHOICES]
            self.status.setCurrentIndex(choices.index(flt.statuses)
                                        if flt.statuses in choices else 0)
            self.area.setCurrentIndex(max(0, self.area.findData(flt.area or ALL)))
            self.enterprise.setCurrentIndex(max(0, self.enterprise.findData(flt.enterprise_id or ALL)))
            self.major_only.setChecked(flt.major_only)
            self.by_date.setChecked(flt.found_from is not None or flt.found_to is not None)
            if flt.found_from:
                self.found_from.setDate(QDate(flt.found_from))
            if flt.found_to:
                self.found_to.setDate(QDate(flt.found_to))
            self.search.setText(flt.search)
        finally:
            self._loading = False
        self._filter_changed()

    def _date_toggled(self, on: bool) -> None:
        self.found_from.setEnabled(on)
        self.found_to.setEnabled(on)
        self._filter_changed()

    def _filter_changed(self) -> None:
        if not self._loading:
            self._go(0)

    def _fill_choices(self) -> None:
        with self.store.session() as s:
            areas, enterprises = ledger_areas(s), ledger_enterprises(s)
        self._loading = True
        try:
            for combo, label, items in ((self.area, "全部领域", [(a, a) for a in areas]),
                                        (self.enterprise, "全部企业",
                                         [(n, i) for i, n in enterprises])):
                keep = combo.currentData()
                combo.clear()
                combo.addItem(label, ALL)
                for text, data in items:
                    combo.addItem(text, data)
                combo.setCurrentIndex(max(0, combo.findData(keep)))
            if not self.by_date.isChecked():
                today = today_of(self.store)
                self.found_from.setDate(QDate(today.replace(month=1, day=1)))
                self.found_to.setDate(QDate(today))
        finally:
            self._loading = False

    # Data
    def refresh(self) -> None:
        """Reload the filter choices and the current page (keeping filters and selection)."""
        self._fill_choices()
        self._go(self.offset, keep=self.selected_id())

    def _go(self, offset: int, keep: uuid.UUID | None = None) -> None:
        flt, today = self.current_filter(), today_of(self.store)
        with self.store.session() as s:
            page = ledger_page(s, flt, today, limit=PAGE_SIZE, offset=max(0, offset),
                               descending=bool(self.sort.currentData()))
            if not page.rows and offset > 0:  # the last page emptied: back to the first
                page = ledger_page(s, flt, today, limit=PAGE_SIZE,
                                   descending=bool(self.sort.currentData()))
        self.page, self.offset = page, page.offset
        self.model.set_rows(page.rows)
        # Major only: the 一单四制 columns take the place of the found date and order number
        # (both stay in the detail line and the Excel file).
        for col in LedgerTableModel.MAJOR_COLUMNS:
            self.table.setColumnHidden(col, not flt.major_only)
        for col in (LedgerTableModel.COL_FOUND, LedgerTableModel.COL_ORDER):
            self.table.setColumnHidden(col, flt.major_only)
        if keep is not None:
            self.select_hazard(keep)
        self._update_paging()
        self._selection_changed()
        if self.tabs.currentWidget() is self.stats:
            self._update_stats()

    def _update_paging(self) -> None:
        page, shown = self.page, len(self.page.rows)
        if not page.total:
            self.count_label.setText("没有符合条件的隐患")
        else:
            total = f"超过 {page.total - 1} 条" if page.total_capped else f"共 {page.total} 条"
            self.count_label.setText(f"{total}，显示第 {self.offset + 1}–{self.offset + shown} 条")
        self.prev_button.setEnabled(self.offset > 0)
        self.next_button.setEnabled(self.offset + shown < page.total)

    def _update_stats(self) -> None:
        if self.tabs.currentWidget() is self.stats:
            with self.store.session() as s:
                from models.ledger import ledger_statistics
                self.stats.show_stats(ledger_statistics(s, today_of(self.store),
                                                        self.current_filter()))

    # Selection
    def selected_row(self):
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows[rows[0].row()] if rows else None

    def selected_id(self) -> uuid.UUID | None:
        row = self.selected_row()
        return row.id if row else None

    def select_hazard(self, hazard_id: uuid.UUID) -> bool:
        for r in range(self.model.rowCount()):
            index = self.model.index(r, 0)
            if index.data(ID_ROLE) == hazard_id:
                self.table.selectRow(r)
                self.table.scrollTo(index)
                return True
        return False

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.reinspect_button.setEnabled(row is not None)
        self.tracking_button.setEnabled(self.tracks_here and row is not None and row.is_major)
        text = self._detail_text(row) if row else "选择一条隐患查看详情"
        if row is not None and row.is_major and not self.tracks_here:
            text += "（台账编号、通报由办公室登记）"
        self.detail.setText(text)

    @staticmethod
    def _detail_text(row) -> str:
        parts = [f"<b>{escape(row.enterprise)}</b>", escape(f"{row.item_code} {row.description}")]
        if row.is_major:
            parts.append(f"<span style='color:#c62828'>重大 · {escape(short_clause(row.major_clause))}</span>")
            parts.append(f"发现 {row.found_on} · {escape(row.order_number)}")
            parts.append("一单四制：交办 " + escape(assignment_text(row))
                         + "　台账编号 " + escape(row.ledger_no or "未填")
                         + "　销号 " + (row.closed_on.isoformat() if row.closed_on else "未销号")
                         + "　通报 " + (row.reported_on.isoformat() if row.reported_on else "未通报"))
        if row.outcome:
            parts.append(f"复查结论：{escape(row.outcome)}")
        return "　·　".join(parts)

    # Actions
    def reinspect_selected(self) -> None:
        row = self.selected_row()
        if row is not None and self.main_window is not None:
            self.main_window.open_reinspection(original_id=row.inspection_id)

    def edit_tracking(self) -> None:
        row = self.selected_row()
        if row is None or not row.is_major or not self.tracks_here:
            return
        dialog = MajorTrackingDialog(self, row)
        dialog.accepted.connect(lambda: self._save_tracking(row.id, dialog.values()))
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        self.tracking_dialog = dialog
        dialog.open()

    def _save_tracking(self, hazard_id: uuid.UUID, values: dict) -> None:
        try:
            with self.store.transaction(label="一单四制") as s:
                set_major_tracking(s, hazard_id, **values)
        except FieldCheckError as exc:
            show_error(self, exc)
        self._go(self.offset, keep=hazard_id)

    def export(self) -> None:
        name = f"隐患台账-{today_of(self.store).isoformat()}.xlsx"
        path, _filter = QFileDialog.getSaveFileName(self, "导出隐患台账", str(Path.home() / name),
                                                    "Excel 工作簿 (*.xlsx)")
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> SessionWorker:
        """Write the ledger as filtered on screen to `path` on a worker thread (100k rows take
        tens of seconds); `exported` is emitted with the row count when it is on disk."""
        today, flt = today_of(self.store), self.current_filter()
        worker = SessionWorker(self.store, lambda s: export_ledger(s, path, today, flt), self)
        worker.done.connect(lambda result: self._exported(worker, path, result))
        self.export_button.setEnabled(False)
        self.count_label.setText("正在导出隐患台账，请稍候…")
        QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        self._export_worker = worker  # kept until it ends: a running QThread must not be dropped
        worker.start()
        return worker

    def save_pending(self) -> None:
        """Closing the window waits for an Excel file still being written."""
        if self._export_worker is not None:
            self._export_worker.wait()

    def _exported(self, worker: SessionWorker, path: Path, result) -> None:
        worker.wait()
        self._export_worker = None
        QGuiApplication.restoreOverrideCursor()
        self.export_button.setEnabled(True)
        if isinstance(result, FieldCheckError):
            self.count_label.setText("导出失败")
            show_error(self, result, "导出失败")
            return
        if isinstance(result, BaseException):  # our bug: the excepthook logs and tells
            self.count_label.setText("导出失败")
            sys.excepthook(type(result), result, result.__traceback__)
            return
        self.count_label.setText(f"已导出 {result} 条到 {path}")
        self.exported.emit(result)

    def row_for(self, hazard_id: uuid.UUID):
        with self.store.session() as s:
            return ledger_row(s, hazard_id, today_of(self.store))
