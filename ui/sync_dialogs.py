"""导出 / 导入 dialogs: the work runs off the UI thread, with a progress bar and the report.

The dialogs never write SQL: they call sync.export.export_bundle and sync.merge.import_bundle
on a QThread and show what comes back; the inspections to choose from come from
models.reports.list_inspections. A FieldCheckError (full stick, broken bundle …) is shown in
the dialog in Chinese; anything else is our bug and goes to the excepthook.
"""
from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QThread, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QDialog, QDialogButtonBox,
                               QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPlainTextEdit, QProgressBar, QPushButton, QRadioButton,
                               QStyledItemDelegate, QTableView, QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from models.inspection import InspectionKind, InspectionStatus, case_label
from models.local_time import agency_date
from models.reports import list_inspections
from ui.style import AMBER, GREEN, RED
from ui.table_model import RowTableModel

BUNDLE_FILTER = "FieldCheck 导出包 (*.fcb);;所有文件 (*)"
CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked
ROW_HEIGHT = 36
# Big targets for gloves and touchpads.
BIG_CHOICES = ("QRadioButton { font-size: 13pt; min-height: 30px; }"
               " QRadioButton::indicator, QTableView::indicator { width: 22px; height: 22px; }")


class SyncWorker(QThread):
    """Runs work(progress) once; reports progress in percent and the result or the error."""

    progressed = Signal(int)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception: a FieldCheckError, or our bug

    def __init__(self, work: Callable, parent=None) -> None:
        super().__init__(parent)
        self._work = work
        self._percent = -1

    def _progress(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != self._percent:  # at most 101 signals, however many files
            self._percent = percent
            self.progressed.emit(percent)

    def run(self) -> None:
        try:
            result = self._work(self._progress)
        except Exception as exc:  # handed to the UI thread, which decides what it is
            self.failed.emit(exc)
            return
        self.succeeded.emit(result)


class _SyncDialog(QDialog):
    """Shared layout: a file, a start button, a progress bar, the report."""

    finished_work = Signal(bool)  # True when the work succeeded

    def __init__(self, title: str, start_text: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.path = QLineEdit()
        self.browse = QPushButton("浏览…")
        self.browse.clicked.connect(self.choose_file)
        row = QHBoxLayout()
        row.addWidget(QLabel("文件："))
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.start = QPushButton(start_text)
        self.start.setProperty("role", "primary")
        self.start.setMinimumHeight(44)
        self.start.clicked.connect(self.run)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.report = QPlainTextEdit(readOnly=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        # No Qt translations are installed: the standard button would say "Close".
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        self.buttons.rejected.connect(self.reject)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addLayout(row)
        self.extra = QVBoxLayout()
        self.layout_.addLayout(self.extra)
        self.layout_.addWidget(self.start)
        self.layout_.addWidget(self.progress)
        self.layout_.addWidget(self.report, 1)
        self.layout_.addWidget(self.buttons)
        self.worker: SyncWorker | None = None
        self.result = None  # what the last successful run returned
        self.pending: QDialog | None = None  # a question asked before running again

    def choose_file(self) -> None:  # pragma: no cover - a native dialog
        raise NotImplementedError

    def work(self, path: Path) -> Callable:
        raise NotImplementedError

    def run(self) -> None:
        text = self.path.text().strip()
        if not text:
            self.report.setPlainText("请先选择文件")
            return
        self._busy(True)
        self.progress.setValue(0)
        self.report.setPlainText("正在处理，请不要拔出U盘…")
        self.worker = SyncWorker(self.work(Path(text)), self)
        self.worker.progressed.connect(self.progress.setValue)
        self.worker.succeeded.connect(self._succeeded)
        self.worker.failed.connect(self._failed)
        self.worker.start()

    def _busy(self, busy: bool) -> None:
        for widget in (self.start, self.browse, self.path, self.buttons):
            widget.setEnabled(not busy)

    def _succeeded(self, result) -> None:
        self.worker.wait()
        self._busy(False)
        self.progress.setValue(100)
        self.result = result
        self.report.setPlainText("\n".join(result.lines()))
        self._show_result(result)
        self.finished_work.emit(True)

    def _show_result(self, result) -> None:
        """Subclasses offer what follows from the result (before finished_work is emitted)."""

    def _failed(self, error: Exception) -> None:
        self.worker.wait()
        self._busy(False)
        if self._retry_after(error):
            return
        self._show_failure(error)

    def _show_failure(self, error: Exception) -> None:
        if not isinstance(error, FieldCheckError):  # our bug: log + dialog, then say so
            sys.excepthook(type(error), error, error.__traceback__)
            error = FieldCheckError("程序内部错误，操作未完成", "已记录到日志，请把日志发给技术支持")
        self.report.setPlainText(f"{error.message}\n{error.hint}".strip())
        self.finished_work.emit(False)

    def _ask_then_run(self, dialog: QDialog, error: Exception, accepted: Callable) -> bool:
        """Show `dialog` (window-modal, no nested event loop); on OK do `accepted` and run
        again, on cancel show the original refusal."""
        self.pending = dialog

        def ok() -> None:
            self.pending = None
            if accepted(dialog):
                self.run()
            else:
                self._show_failure(error)

        def cancel() -> None:
            self.pending = None
            self._show_failure(error)
        dialog.accepted.connect(ok)
        dialog.rejected.connect(cancel)
        dialog.open()
        return True

    def _retry_after(self, error: Exception) -> bool:
        """A locked key: ask its passphrase (ui.trust_dialogs) and run again."""
        from sync.keystore import KeyLocked
        if isinstance(error, KeyLocked) and error.env == "FIELDCHECK_KEY_PASSPHRASE":
            from sync.keystore import unlock
            from ui.trust_dialogs import PassphraseDialog

            def remember(dialog) -> bool:
                if not dialog.passphrase.text():
                    return False
                unlock(self.store.data_dir, dialog.passphrase.text())
                return True
            return self._ask_then_run(PassphraseDialog(self), error, remember)
        return False

    def reject(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            return  # closing mid-export would leave the user guessing; wait for the end
        super().reject()


@dataclass(frozen=True)
class ExportChoice:
    """One inspection in the 选定的检查 list, as shown."""
    id: uuid.UUID
    enterprise: str
    day: str
    case_number: str  # 2026年第3号, or "" before it is finalized
    status: str
    in_progress: bool
    hazards: int
    major_hazards: int


def export_choices(store) -> list[ExportChoice]:
    """Every inspection, newest first, through the listing the home page uses."""
    with store.session() as s:
        rows = list_inspections(s, limit=None)
        return [ExportChoice(
            id=i.id, enterprise=name, day=agency_date(i.started_at).isoformat(),
            case_number=case_label(i.case_year, i.case_serial),
            status=(f"{i.kind.label} · " if i.kind == InspectionKind.REINSPECTION else "")
            + i.status.label,
            in_progress=i.status == InspectionStatus.IN_PROGRESS, hazards=hazards,
            major_hazards=major) for i, name, hazards, major in rows]


def matching(rows: list[ExportChoice], text: str) -> list[ExportChoice]:
    """Inspections whose enterprise name contains `text` (case-insensitive)."""
    needle = text.strip().casefold()
    return [r for r in rows if needle in r.enterprise.casefold()]


class ExportChoiceModel(RowTableModel):
    """The inspections matching the search, each with a check box; the checks survive a new
    search, so the user can pick from several enterprises one after the other."""

    COL_CHECK, COL_ENTERPRISE, COL_DAY, COL_CASE, COL_STATUS, COL_HAZARDS = range(6)
    HEADERS = ("", "被检查单位", "检查日期", "案件编号", "状态", "隐患（重大）")
    checks_changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.all_rows: list[ExportChoice] = []
        self.checked: set[uuid.UUID] = set()
        self._search = ""

    def set_choices(self, rows: list[ExportChoice]) -> None:
        self.all_rows = list(rows)
        self.checked &= {r.id for r in self.all_rows}
        self.set_rows(matching(self.all_rows, self._search))
        self.checks_changed.emit()

    def set_search(self, text: str) -> None:
        self._search = text
        self.set_rows(matching(self.all_rows, text))

    def chosen_ids(self) -> list[uuid.UUID]:
        """The checked inspections, newest first (hidden by the search or not)."""
        return [r.id for r in self.all_rows if r.id in self.checked]

    def hidden_checked(self) -> int:
        return len(self.checked - {r.id for r in self.rows})

    def toggle(self, row: int) -> None:
        self._check([self.rows[row].id], self.rows[row].id not in self.checked)

    def check_shown(self, on: bool) -> None:
        self._check([r.id for r in self.rows], on)

    def _check(self, ids: list[uuid.UUID], on: bool) -> None:
        if on:
            self.checked.update(ids)
        else:
            self.checked.difference_update(ids)
        if self.rows:
            self.dataChanged.emit(self.index(0, self.COL_CHECK),
                                  self.index(len(self.rows) - 1, self.COL_CHECK),
                                  [Qt.ItemDataRole.CheckStateRole])
        self.checks_changed.emit()

    def flags(self, index):
        base = super().flags(index)
        if index.isValid() and index.column() == self.COL_CHECK:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if (not index.isValid() or index.column() != self.COL_CHECK
                or role != Qt.ItemDataRole.CheckStateRole):
            return False
        self._check([self.rows[index.row()].id], value in (CHECKED, CHECKED.value))
        return True

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.CheckStateRole and col == self.COL_CHECK:
            return CHECKED if row.id in self.checked else UNCHECKED
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == self.COL_STATUS and row.in_progress:
                return QColor(AMBER)
            if col == self.COL_HAZARDS and row.major_hazards:
                return QColor(RED)
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_ENTERPRISE:
            return row.enterprise
        return None

    def _text(self, row: ExportChoice, col: int) -> str | None:
        if col == self.COL_ENTERPRISE:
            return row.enterprise
        if col == self.COL_DAY:
            return row.day
        if col == self.COL_CASE:
            return row.case_number or "—"
        if col == self.COL_STATUS:
            return row.status
        if col == self.COL_HAZARDS:
            return f"{row.hazards}（{row.major_hazards}）" if row.hazards else "无"
        return None


class WholeRowToggleDelegate(QStyledItemDelegate):
    """A tap anywhere on the row toggles its check box (touch screens, touchpads)."""

    def editorEvent(self, event, model, option, index) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton
                and option.rect.contains(event.position().toPoint())):
            model.toggle(index.row())
            return True
        return super().editorEvent(event, model, option, index)


class ExportDialog(_SyncDialog):
    """导出到U盘: what changed since the last export to that folder, everything, or the
    inspections the user ticks."""

    CHANGED, EVERYTHING, CHOSEN = range(3)

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__("导出检查记录", "开始导出", parent)
        self.store = store
        self.setStyleSheet(BIG_CHOICES)
        self.scope_changed = QRadioButton("该位置另一端尚未有的记录（推荐）")
        self.scope_all = QRadioButton("全部记录")
        self.scope_chosen = QRadioButton("选定的检查")
        self.scope = QButtonGroup(self)
        self.extra.addWidget(QLabel("导出哪些记录："))
        for scope, button in ((self.CHANGED, self.scope_changed), (self.EVERYTHING, self.scope_all),
                              (self.CHOSEN, self.scope_chosen)):
            self.scope.addButton(button, scope)
            self.extra.addWidget(button)
        self.scope_changed.setChecked(True)
        self.scope.idToggled.connect(self._scope_toggled)
        self._compact_size = None  # the size before the list was shown
        self.choices_box = self._build_choices()
        self.choices_box.hide()
        self.extra.addWidget(self.choices_box, 1)
        self.encryption = QLabel()
        self.encryption.setWordWrap(True)
        self.extra.addWidget(self.encryption)
        self._show_encryption()

    def _build_choices(self) -> QWidget:
        self.search = QLineEdit(placeholderText="输入单位名称查找")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search_changed)
        self.check_all = QPushButton("全选")
        self.check_all.clicked.connect(lambda: self.choices.check_shown(True))
        self.check_none = QPushButton("全不选")
        self.check_none.clicked.connect(lambda: self.choices.check_shown(False))
        self.choices = ExportChoiceModel(self)
        self.choices.checks_changed.connect(self._checks_changed)
        self.table = QTableView()
        self.table.setModel(self.choices)
        self.table.setItemDelegate(WholeRowToggleDelegate(self.table))
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        # Fixed widths: ResizeToContents would read every cell of every row at each show.
        header = self.table.horizontalHeader()
        for col, width in ((ExportChoiceModel.COL_CHECK, 44), (ExportChoiceModel.COL_DAY, 120),
                           (ExportChoiceModel.COL_CASE, 140), (ExportChoiceModel.COL_STATUS, 130),
                           (ExportChoiceModel.COL_HAZARDS, 120)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(ExportChoiceModel.COL_ENTERPRISE,
                                    QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(4 * ROW_HEIGHT + header.sizeHint().height() + 4)
        self.chosen_count = QLabel()
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addWidget(self.check_all)
        tools.addWidget(self.check_none)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(28, 0, 0, 0)  # under its radio button
        column.addLayout(tools)
        column.addWidget(self.table, 1)
        column.addWidget(self.chosen_count)
        return box

    def _show_encryption(self) -> None:
        from sync.crypto import office_public_key
        try:
            sealed = office_public_key(self.store.data_dir) is not None
        except (OSError, ValueError):  # a damaged key file: say so now, not after the export
            self.encryption.setText("办公室公钥文件已损坏：请重新安装办公室公钥后再导出")
            self.encryption.setStyleSheet(f"color: {RED};")
            return
        if sealed:
            self.encryption.setText("将加密：只有办公室能打开该导出包")
            self.encryption.setStyleSheet(f"color: {GREEN}; font-weight: bold;")
        else:
            self.encryption.setText("未安装办公室公钥：导出包不加密（签名仍可防篡改）")
            self.encryption.setStyleSheet("")

    def _scope_toggled(self, scope: int, on: bool) -> None:
        if scope == self.CHOSEN:
            self._show_choices(on)
        self._update_start()

    def _show_choices(self, on: bool) -> None:
        """The list takes the report's room; the dialog grows for it and shrinks back after."""
        if on:
            if not self.choices.all_rows:
                self.choices.set_choices(export_choices(self.store))
            self._compact_size = self.size()
        self.choices_box.setVisible(on)
        self.layout_.setStretchFactor(self.report, 0 if on else 1)
        self.layout_.setStretchFactor(self.extra, 1 if on else 0)
        self.report.setMaximumHeight(100 if on else 16777215)
        if on:
            screen = self.screen().availableGeometry()  # a small laptop's screen too
            self.resize(max(self.width(), min(880, screen.width() - 40)),
                        max(self.height(), min(800, screen.height() - 60)))
            self.search.setFocus()
        elif self._compact_size is not None:
            self.layout_.activate()  # the smaller minimum first, else the resize is clamped
            self.resize(self._compact_size)

    def _search_changed(self, text: str) -> None:
        self.choices.set_search(text)
        self._checks_changed()

    def _checks_changed(self) -> None:
        count, hidden = len(self.choices.checked), self.choices.hidden_checked()
        if not count:
            self.chosen_count.setText("尚未选择：请至少勾选一次检查")
            self.chosen_count.setStyleSheet(f"color: {RED};")
        else:
            where = "" if not hidden else (
                "（均不在当前查找结果中）" if hidden == count else f"（其中 {hidden} 次不在当前查找结果中）")
            self.chosen_count.setText(f"已选 {count} 次检查{where}")
            self.chosen_count.setStyleSheet("")
        if not self.choices.rows:
            term = self.search.text().strip()
            self.chosen_count.setText((f"没有找到单位名称含“{term}”的检查；" if term else
                                       "本机还没有检查记录；") + self.chosen_count.text())
        self._update_start()

    def _nothing_chosen(self) -> bool:
        return self.scope.checkedId() == self.CHOSEN and not self.choices.checked

    def _update_start(self) -> None:
        busy = self.worker is not None and self.worker.isRunning()
        self.start.setEnabled(not busy and not self._nothing_chosen())
        self.start.setToolTip("请至少勾选一次检查" if self._nothing_chosen() else "")

    def _busy(self, busy: bool) -> None:
        super()._busy(busy)
        for widget in (*self.scope.buttons(), self.choices_box):
            widget.setEnabled(not busy)
        if not busy:
            self._update_start()

    def choose_file(self) -> None:  # pragma: no cover - a native dialog
        name, _ = QFileDialog.getSaveFileName(self, "导出到", "", BUNDLE_FILTER)
        if name:
            self.path.setText(name)

    def run(self) -> None:
        if self._nothing_chosen():
            self.report.setPlainText("请至少勾选一次检查")
            return
        super().run()

    def work(self, path: Path) -> Callable:
        from sync.export import export_bundle
        scope = self.scope.checkedId()
        ids = self.choices.chosen_ids() if scope == self.CHOSEN else None
        everything = scope == self.EVERYTHING
        return lambda progress: export_bundle(self.store, path, inspection_ids=ids,
                                              everything=everything, progress=progress)


class ImportDialog(_SyncDialog):
    """从U盘导入: verified completely first, then merged in one step."""

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__("导入检查记录", "校验并导入", parent)
        self.store = store
        self.trusted_fingerprints: list[str] = []  # compared by the user for trust_path
        self.trust_path: Path | None = None
        self.conflicts_button = QPushButton("查看冲突…")
        self.conflicts_button.clicked.connect(self.show_conflicts)
        self.buttons.addButton(self.conflicts_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.conflicts_button.hide()  # after addButton, which shows it

    def choose_file(self) -> None:  # pragma: no cover - a native dialog
        name, _ = QFileDialog.getOpenFileName(self, "选择导出包", "", BUNDLE_FILTER)
        if name:
            self.path.setText(name)

    def work(self, path: Path) -> Callable:
        from sync.merge import import_bundle
        if path != self.trust_path:  # fingerprints compared count for this file only
            self.trust_path, self.trusted_fingerprints = path, []
        trusted = list(self.trusted_fingerprints)
        return lambda progress: import_bundle(self.store, path, progress=progress,
                                              trust_new_device=trusted)

    def _retry_after(self, error: Exception) -> bool:
        """A device never trusted here: the user compares its fingerprint, then it runs again."""
        from sync.trust import UntrustedDevice
        if isinstance(error, UntrustedDevice):
            from ui.trust_dialogs import TrustDeviceDialog

            def trust(_dialog) -> bool:
                self.trusted_fingerprints.append(error.fingerprint)
                return True
            return self._ask_then_run(TrustDeviceDialog(error.device_id, error.fingerprint, self),
                                      error, trust)
        return super()._retry_after(error)

    def _busy(self, busy: bool) -> None:
        super()._busy(busy)
        if busy:
            self.conflicts_button.hide()

    def _show_result(self, result) -> None:
        self.conflicts_button.setVisible(result.total("conflict") > 0)

    def show_conflicts(self) -> None:
        from ui.conflicts_dialog import ConflictsDialog
        ConflictsDialog(self.store.data_dir, self, bundle_id=self.result.bundle_id,
                        store=self.store).exec()
