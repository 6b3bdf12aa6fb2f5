"""导出 / 导入 dialogs: the work runs off the UI thread, with a progress bar and the report.

The dialogs never write SQL: they call sync.export.export_bundle and sync.merge.import_bundle
on a QThread and show what comes back. A FieldCheckError (full stick, broken bundle …) is
shown in the dialog in Chinese; anything else is our bug and goes to the excepthook.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout,
                               QLabel, QLineEdit, QPlainTextEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError

BUNDLE_FILTER = "FieldCheck 导出包 (*.fcb);;所有文件 (*)"


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
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.start = QPushButton(start_text)
        self.start.clicked.connect(self.run)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.report = QPlainTextEdit(readOnly=True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        self.layout_ = QVBoxLayout(self)
        self.layout_.addWidget(QLabel("文件："))
        self.layout_.addLayout(row)
        self.extra = QVBoxLayout()
        self.layout_.addLayout(self.extra)
        self.layout_.addWidget(self.start)
        self.layout_.addWidget(self.progress)
        self.layout_.addWidget(self.report, 1)
        self.layout_.addWidget(self.buttons)
        self.worker: SyncWorker | None = None

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
        self.report.setPlainText("\n".join(result.lines()))
        self.finished_work.emit(True)

    def _failed(self, error: Exception) -> None:
        self.worker.wait()
        self._busy(False)
        if not isinstance(error, FieldCheckError):  # our bug: log + dialog, then say so
            sys.excepthook(type(error), error, error.__traceback__)
            error = FieldCheckError("程序内部错误，操作未完成", "已记录到日志，请把日志发给技术支持")
        self.report.setPlainText(f"{error.message}\n{error.hint}".strip())
        self.finished_work.emit(False)

    def reject(self) -> None:
        if self.worker is not None and self.worker.isRunning():
            return  # closing mid-export would leave the user guessing; wait for the end
        super().reject()


class ExportDialog(_SyncDialog):
    """导出到U盘: everything changed since the last export to that folder, or everything."""

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__("导出检查记录", "开始导出", parent)
        self.store = store
        self.everything = QCheckBox("导出全部记录（默认只导出自上次导出到该位置以来改动的记录）")
        self.extra.addWidget(self.everything)

    def choose_file(self) -> None:  # pragma: no cover - a native dialog
        name, _ = QFileDialog.getSaveFileName(self, "导出到", "", BUNDLE_FILTER)
        if name:
            self.path.setText(name)

    def work(self, path: Path) -> Callable:
        from sync.export import export_bundle
        everything = self.everything.isChecked()
        return lambda progress: export_bundle(self.store, path, everything=everything,
                                              progress=progress)


class ImportDialog(_SyncDialog):
    """从U盘导入: verified completely first, then merged in one step."""

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__("导入检查记录", "校验并导入", parent)
        self.store = store

    def choose_file(self) -> None:  # pragma: no cover - a native dialog
        name, _ = QFileDialog.getOpenFileName(self, "选择导出包", "", BUNDLE_FILTER)
        if name:
            self.path.setText(name)

    def work(self, path: Path) -> Callable:
        from sync.merge import import_bundle
        return lambda progress: import_bundle(self.store, path, progress=progress)
