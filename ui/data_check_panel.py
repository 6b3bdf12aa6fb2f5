"""设置 → 数据检查: the check `fieldcheck status --files` makes, for those who never open a
terminal — the audit chain and every photo and signature image read and hashed, on a worker
thread (thousands of photos take seconds), nothing changed (models.integrity)."""
from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from models.integrity import IntegrityReport, check_integrity
from models.store import Store
from ui.session_worker import SessionWorker
from ui.style import GREEN, RED


_RUNNING: dict[SessionWorker, threading.Event] = {}  # the checks under way, each with its stop


class _Stopped(Exception):
    """The program quits: the check ends before its next file."""


def _stop_running_checks() -> None:
    """On quitting: each check stops before its next file and is waited for — a QThread still
    running when Python lets go of it aborts the process."""
    for stop in _RUNNING.values():
        stop.set()
    for worker in list(_RUNNING):
        worker.wait()


_HOOKED: set[int] = set()  # the applications told to stop the checks when they quit


def _stop_on_quit() -> None:
    app = QApplication.instance()
    if id(app) not in _HOOKED:
        _HOOKED.add(id(app))
        app.aboutToQuit.connect(_stop_running_checks)


class DataCheckPanel(QWidget):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.worker: SessionWorker | None = None
        intro = QLabel("核对执法全过程记录是否完整、未被改动，并逐一读取校验本机的每张照片和每个签名图像"
                       "（照片多时需要几分钟，可随时停止）。只检查，不改动任何数据。")
        intro.setWordWrap(True)
        self.start = QPushButton("开始检查")
        self.start.setProperty("role", "primary")
        self.start.setMinimumHeight(44)
        self.start.clicked.connect(self.run)
        self.stop = QPushButton("停止")
        self.stop.setMinimumHeight(44)
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self._stop_asked)
        self._stopping: threading.Event | None = None
        self._read = [0]                  # files read so far (counted on the worker thread)
        self._count = QTimer(self)        # shows that count while the check runs
        self._count.setInterval(250)
        self._count.timeout.connect(self._show_count)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start, 1)
        buttons.addWidget(self.stop)
        layout.addLayout(buttons)
        layout.addWidget(self.verdict)
        layout.addWidget(self.report, 1)

    def run(self) -> None:
        self.start.setEnabled(False)
        self.stop.setEnabled(True)
        self.verdict.setText("正在检查…")
        self.verdict.setStyleSheet("")
        self.report.clear()
        store, stop, read = self.store, threading.Event(), [0]
        self._stopping, self._read = stop, read
        self._count.start()

        def each_file() -> None:
            if stop.is_set():
                raise _Stopped
            read[0] += 1
        # No parent: closing 设置 while the files are read must not destroy a running thread;
        # it ends on its own, its answer to a panel gone dropped by Qt. Quitting stops it.
        worker = self.worker = SessionWorker(
            store, lambda s: check_integrity(s, store.data_dir, store.photos_dir, each_file))
        _stop_on_quit()
        _RUNNING[worker] = stop
        worker.finished.connect(lambda: _RUNNING.pop(worker, None))
        worker.done.connect(self._done)
        worker.start()

    def _stop_asked(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        self.stop.setEnabled(False)
        self.verdict.setText("正在停止…")

    def _show_count(self) -> None:
        if self._read[0] and not (self._stopping and self._stopping.is_set()):
            self.verdict.setText(f"正在检查…已读取 {self._read[0]} 个文件")

    def _done(self, found) -> None:
        self.worker.wait()
        self._count.stop()
        self.start.setEnabled(True)
        self.stop.setEnabled(False)
        if isinstance(found, _Stopped):
            self._say(False, f"已停止：读取了 {self._read[0]} 个文件，检查未完成，结果不作数；"
                             "请在不急用电脑时再检查一次")
            return
        if isinstance(found, FieldCheckError):
            self._say(False, f"无法完成检查：{found.text()}")
            return
        if isinstance(found, BaseException):  # our bug: the excepthook logs and tells
            self._say(False, "无法完成检查（程序出错，已记录）")
            sys.excepthook(type(found), found, found.__traceback__)
            return
        report: IntegrityReport = found
        self.report.setPlainText("\n".join([report.chain_line(), *report.file_lines()]))
        self._say(report.intact, "检查完毕：全部完好" if report.intact
                  else "检查完毕：发现问题，详见下方（按每项后的说明处理）")

    def _say(self, good: bool, text: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(f"color: {GREEN if good else RED}; font-weight: bold;")
