"""办公室: the office's own work across every laptop — the period's major hazards with overdue
ones first and their 交办, statistics by team, township, area, risk colour and month, and the
通报 as Excel or PDF. Shown only at the office (models.store_mode.is_office_store)."""
from __future__ import annotations

import sys
from datetime import date, timedelta
from html import escape
from pathlib import Path

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDateEdit, QFileDialog, QGridLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QMessageBox, QPushButton, QTableView, QTabWidget, QVBoxLayout,
                               QWidget)

from models.assignment_rules import assignee_suggestions, assignment_history
from models.errors import FieldCheckError
from models.ledger import LedgerFilter
from models.office_views import (agency_name, major_hazards, major_summary, office_statistics,
                                 townships)
from ui.assign_dialog import AssignDialog
from ui.ledger_page import today_of
from ui.style import page_top_row
from ui.messages import show_error
from ui.session_worker import LatestOnly, SessionWorker
from ui.office_models import MajorHazardTableModel, TallyTableModel, assignment_state_text
from ui.tables import make_table

SEARCH_DELAY_MS = 300  # a search runs once typing pauses
LIST_LIMIT = 200  # rows on screen: the most urgent first (the counts and the 通报 take all)
PERIODS = ("本月", "本季度", "本年", "上月", "自定义")
STATISTICS = (("team", "检查组"), ("township", "乡镇/街道"), ("area", "领域"),
              ("risk_colour", "风险等级"), ("month", "月份"))


def period_dates(period: str, today: date) -> tuple[date, date] | None:
    """The first and last day of a named period around `today` (None: 自定义)."""
    if period == "本月":
        return today.replace(day=1), today
    if period == "上月":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if period == "本季度":
        return date(today.year, (today.month - 1) // 3 * 3 + 1, 1), today
    if period == "本年":
        return date(today.year, 1, 1), today
    return None


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class OfficePage(QWidget):
    """The counts run on worker threads (at a city's million hazards the list and its counts
    take a second, the statistics several): the page stays live, says it is counting, and a
    result overtaken by a newer period or search is dropped."""

    exported = Signal(int)  # major hazards written to the 通报

    def __init__(self, store, main_window=None) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self._export_worker: SessionWorker | None = None
        self._workers: set[SessionWorker] = set()  # kept until they end (a QThread must)
        self._list_asked = self._stats_asked = 0   # which request the shown data answers
        # One list count and one statistics count at a time; typed searches wait behind them.
        self._list_runs, self._stats_runs = LatestOnly(self._run), LatestOnly(self._run)
        self.model = MajorHazardTableModel(self)
        self.tallies = {key: TallyTableModel(label, self) for key, label in STATISTICS}
        self.assign_dialog: AssignDialog | None = None
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.refresh)
        self._build()
        self._period_changed()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._build_top_row())
        layout.addLayout(self._build_period_row())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_major_tab(), "重大事故隐患")
        self.tabs.addTab(self._build_stats_tab(), "分类统计")
        self.tabs.currentChanged.connect(lambda _i: self._update_stats())
        layout.addWidget(self.tabs, 1)

    def _build_top_row(self) -> QHBoxLayout:
        title = QLabel("办公室")
        title.setProperty("role", "title")
        self.search = QLineEdit()
        self.search.setPlaceholderText("搜索企业名称、地址、检查项编号或隐患描述")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumHeight(40)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.assign_button = QPushButton("交办(&A)…")
        self.assign_button.setProperty("role", "primary")
        self.assign_button.setEnabled(False)
        self.assign_button.clicked.connect(self.assign_selected)
        self.xlsx_button = QPushButton("导出通报 Excel(&X)…")
        self.pdf_button = QPushButton("导出通报 PDF(&P)…")
        self.xlsx_button.clicked.connect(lambda: self.export_report("xlsx"))
        self.pdf_button.clicked.connect(lambda: self.export_report("pdf"))
        return page_top_row(title, self.search,
                            (self.xlsx_button, self.pdf_button, self.assign_button))

    def _build_period_row(self) -> QHBoxLayout:
        self.period = QComboBox()
        self.period.addItems(PERIODS)
        self.period.setCurrentText("本年")
        self.period.setMinimumWidth(110)
        self.found_from, self.found_to = QDateEdit(), QDateEdit()
        for edit in (self.found_from, self.found_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setMinimumHeight(36)
            edit.dateChanged.connect(lambda _d: self._dates_edited())
        self.period.currentIndexChanged.connect(lambda _i: self._period_changed())
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        row = QHBoxLayout()
        row.setSpacing(8)
        for widget in (QLabel("发现日期："), self.period, self.found_from, QLabel("至"),
                       self.found_to):
            row.addWidget(widget)
        row.addSpacing(16)
        row.addWidget(self.summary, 1)
        return row

    def _build_major_tab(self) -> QWidget:
        # 1366 px: dates and states as wide as their text, names as wide as a usual one, the
        # hazard takes the rest; what is cut shows whole in its tooltip and the detail line.
        table = make_table(self.model, MajorHazardTableModel.COL_HAZARD)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = table.horizontalHeader()
        metrics = table.fontMetrics()
        for col, sample in ((MajorHazardTableModel.COL_ENTERPRISE, "湘乡市恒达木业有限公"),
                            (MajorHazardTableModel.COL_TOWNSHIP, "经济开发区"),
                            (MajorHazardTableModel.COL_ASSIGNEE, "月山镇人民政府")):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(col, metrics.horizontalAdvance(sample) + 16)
        table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        table.activated.connect(lambda _i: self.assign_selected())
        self.table = table
        self.detail = QLabel("选择一项重大事故隐患，可查看交办情况并交办")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.RichText)
        self.detail.setMinimumHeight(52)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 6, 0, 0)
        column.addWidget(table, 1)
        column.addWidget(self.detail)
        return box

    def _build_stats_tab(self) -> QWidget:
        box = QWidget()
        self.stats_tab = box
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 6, 0, 0)
        self.tally_tables: dict[str, QTableView] = {}
        for n, (key, label) in enumerate(STATISTICS):
            group = QGroupBox(f"按{label}")
            inner = QVBoxLayout(group)
            table = QTableView()
            table.setModel(self.tallies[key])
            table.verticalHeader().hide()
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setAlternatingRowColors(True)
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            inner.addWidget(table)
            self.tally_tables[key] = table
            grid.addWidget(group, n // 3, n % 3)
        basis = QLabel("统计口径：发现日期在所选期间内、已下达整改指令的隐患（含一般隐患）；"
                       "「逾期」为整改期限已过仍未整改完毕的隐患。乡镇/街道取自企业台账。")
        basis.setWordWrap(True)
        basis.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        basis.setStyleSheet("color: #546e7a; padding: 8px;")
        self.stats_state = QLabel()  # 正在统计… while the counts run
        self.stats_state.setStyleSheet("color: #1565c0; font-size: 16pt; font-weight: bold; padding: 8px;")
        corner = QVBoxLayout()
        corner.addWidget(self.stats_state)
        corner.addWidget(basis)
        corner.addStretch(1)
        grid.addLayout(corner, 1, 2)
        return box

    # ------------------------------------------------------------------ data
    def period_range(self) -> tuple[date, date]:
        return self.found_from.date().toPython(), self.found_to.date().toPython()

    def _period_changed(self) -> None:
        dates = period_dates(self.period.currentText(), today_of(self.store))
        if dates is not None:
            self._setting_dates = True
            self.found_from.setDate(_qdate(dates[0]))
            self.found_to.setDate(_qdate(dates[1]))
            self._setting_dates = False
        self.refresh()

    def _dates_edited(self) -> None:
        if getattr(self, "_setting_dates", False):
            return
        if self.period.currentText() != "自定义":
            self.period.blockSignals(True)
            self.period.setCurrentText("自定义")
            self.period.blockSignals(False)
        self.refresh()

    @property
    def idle(self) -> bool:
        """Nothing being counted: what is shown answers the period and search shown."""
        return not self._workers or self._workers == {self._export_worker}

    def refresh(self) -> None:
        self._search_timer.stop()
        start, end = self.period_range()
        today, term = today_of(self.store), self.search.text().strip()

        def work(s):
            rows = major_hazards(s, today, start, end, term, limit=LIST_LIMIT)
            return rows, major_summary(s, today, start, end, term), townships(s, rows)
        self._list_asked += 1
        asked = self._list_asked
        self.summary.setText("正在查询…")
        self._list_runs.ask(work, lambda result: self._list_counted(asked, result))
        self._stats_stale = True
        self._stats_asked += 1  # a statistics count under way answers an older period now
        self._update_stats()

    def _list_counted(self, asked: int, result) -> None:
        if asked != self._list_asked:
            return  # overtaken: a newer period or search is being counted
        if self._failed(result, "未能读取重大事故隐患"):
            self.summary.setText("读取失败，请稍后重试")
            return
        rows, summary, towns = result
        keep = self.selected_id()
        self.model.set_rows([(r, towns.get(r.enterprise_id) or "") for r in rows])
        self._show_summary(summary, len(rows))
        self._select(keep)
        self._selection_changed()

    def _update_stats(self) -> None:
        """The statistics are counted when their tab is shown (they cost more than the list)."""
        if not self._stats_stale or self.tabs.currentWidget() is not self.stats_tab:
            return
        self._stats_stale = False
        start, end = self.period_range()
        today, flt = today_of(self.store), LedgerFilter(found_from=start, found_to=end,
                                                        search=self.search.text().strip())
        self._stats_asked += 1
        asked = self._stats_asked
        self.stats_state.setText("正在统计…")
        self._stats_runs.ask(lambda s: office_statistics(s, today, flt),
                             lambda result: self._stats_counted(asked, result))

    def _stats_counted(self, asked: int, result) -> None:
        if asked != self._stats_asked:
            return
        if self._failed(result, "未能完成分类统计"):
            self.stats_state.setText("统计失败，请稍后重试")
            self._stats_stale = True
            return
        for key, _label in STATISTICS:
            self.tallies[key].set_rows(result[key])
        self.stats_state.setText("")

    def _run(self, work, then) -> SessionWorker:
        worker = SessionWorker(self.store, work, self)
        self._workers.add(worker)

        def ended(result) -> None:
            worker.wait()
            self._workers.discard(worker)
            worker.deleteLater()
            then(result)
        worker.done.connect(ended)
        worker.start()
        return worker

    def _failed(self, result, title: str) -> bool:
        if isinstance(result, FieldCheckError):
            show_error(self, result, title)
            return True
        if isinstance(result, BaseException):  # our bug: the excepthook logs and tells
            sys.excepthook(type(result), result, result.__traceback__)
            return True
        return False

    def _show_summary(self, summary, shown: int) -> None:
        red = "<span style='color:#c62828;font-weight:bold'>{}</span>"
        late, late_assigned = summary.overdue, summary.assignment_overdue
        more = (f"（列出最紧迫的 {shown} 项，请用期间或搜索缩小范围）" if shown < summary.total
                else "")
        self.summary.setText(
            f"重大事故隐患 <b>{summary.total}</b> 项{more}　逾期未整改 "
            + (red.format(late) if late else "0") + " 项　交办逾期 "
            + (red.format(late_assigned) if late_assigned else "0")
            + f" 项　未交办 <b>{summary.not_assigned}</b> 项")

    def _select(self, hazard_id) -> None:
        if hazard_id is None:
            return
        for n in range(self.model.rowCount()):
            if self.model.ledger_row(n).id == hazard_id:
                self.table.selectRow(n)
                return

    def selected_row(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.model.ledger_row(rows[0].row()) if rows else None

    def selected_id(self):
        row = self.selected_row()
        return row.id if row is not None else None

    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.assign_button.setEnabled(row is not None and row.closed_on is None)
        self.assign_button.setText("重新交办(&A)…" if row is not None and row.assignment
                                   else "交办(&A)…")
        if row is None:
            self.detail.setText("选择一项重大事故隐患，可查看交办情况并交办")
            return
        parts = [f"<b>{escape(row.enterprise)}</b>　{escape(row.item_code)} {escape(row.description)}",
                 f"判定依据：{escape(row.major_clause)}　整改期限 {row.deadline.isoformat()}"
                 f"（{escape(row.status)}）　{escape(row.order_number)}"]
        if row.assignment:
            a = row.assignment
            parts.append(f"交办：{escape(a.assignee)}，期限 {a.deadline.isoformat()}"
                         f"（{escape(assignment_state_text(row))}）"
                         + (f"　说明：{escape(a.note)}" if a.note else "")
                         + (f"　第 {a.round} 次交办" if a.round > 1 else ""))
        elif row.closed_on is None:
            parts.append("尚未交办")
        self.detail.setText("<br>".join(parts))

    # ------------------------------------------------------------------ actions
    def assign_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.closed_on is not None:
            return
        with self.store.session() as s:
            suggestions = assignee_suggestions(s)
            history = assignment_history(s, row.id)
        dialog = AssignDialog(self, self.store, row, today_of(self.store), suggestions, history)
        dialog.accepted.connect(self.refresh)
        dialog.finished.connect(lambda _r: dialog.deleteLater())
        self.assign_dialog = dialog
        dialog.open()

    def export_report(self, kind: str) -> None:
        start, end = self.period_range()
        name = f"重大事故隐患通报_{start:%Y%m%d}-{end:%Y%m%d}.{kind}"
        label = "Excel 工作簿 (*.xlsx)" if kind == "xlsx" else "PDF 文件 (*.pdf)"
        path, _filter = QFileDialog.getSaveFileName(self, "导出重大事故隐患通报",
                                                    str(Path.home() / name), label)
        if path:
            self.export_to(Path(path), kind)

    def export_to(self, path: Path, kind: str) -> SessionWorker:
        """Write the period's 通报 (the rows of `office-report`) on a worker thread: thousands
        of major hazards take seconds. `exported` carries the count once it is on disk."""
        if path.suffix.lower() != f".{kind}":
            path = path.with_name(path.name + f".{kind}")
        start, end = self.period_range()
        for button in (self.xlsx_button, self.pdf_button):
            button.setEnabled(False)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        worker = self._run(_report_writer(path, kind, today_of(self.store), start, end),
                           lambda result: self._exported(path, result))
        self._export_worker = worker
        return worker

    def save_pending(self) -> None:
        """Leaving the page waits for a 通报 still being written (the counts go on behind)."""
        if self._export_worker is not None:
            self._export_worker.wait()

    def wait_for_workers(self) -> None:
        """Before the page goes (closed, the window closed): a running thread must end first,
        and no count waiting behind it starts then."""
        self._list_runs.forget_waiting()
        self._stats_runs.forget_waiting()
        for worker in list(self._workers):
            worker.wait()

    def _exported(self, path: Path, result) -> None:
        self._export_worker = None
        QGuiApplication.restoreOverrideCursor()
        for button in (self.xlsx_button, self.pdf_button):
            button.setEnabled(True)
        if self._failed(result, "未能导出通报"):
            return
        self.last_export = path
        box = QMessageBox(QMessageBox.Icon.Information, "已导出通报",
                          f"已写入重大事故隐患通报 {result} 项：\n{path}",
                          QMessageBox.StandardButton.Ok, self)
        box.open()
        self.export_box = box
        self.exported.emit(result)


def _report_writer(path: Path, kind: str, today: date, start: date, end: date):
    """The 通报 as Excel or PDF, to run in a SessionWorker."""
    def write(s):
        from documents.office_report import write_major_report_pdf
        from models.office_views import write_major_report_xlsx
        writer = write_major_report_xlsx if kind == "xlsx" else write_major_report_pdf
        return writer(s, path, today, start, end, agency_name(s))
    return write
