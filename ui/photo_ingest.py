"""Photo import off the UI thread: decoding, hashing and writing run in a small thread pool.

Workers never touch a widget. They hand their result to one relay object that lives as long
as the application, which passes it on (queued, in the UI thread) to whoever asked — if that
widget still exists. So a page closed in the middle of an import cannot crash anything.
"""
from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, Signal, Slot

from models.errors import FieldCheckError
from models.photo_store import PreparedPhoto, prepare_photo, read_photo_file

MAX_THREADS = 2  # the reference laptop has two cores; the UI thread needs some of them
BUG_TEXT = "程序内部错误，该文件未添加；已记录到日志，请把日志发给技术支持"


class _Background(QObject):
    """The application's pool for slow photo work and the relay back to the UI thread."""

    _done = Signal(int, object, object)  # ticket, result, exception

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(MAX_THREADS)
        self._waiting: dict[int, tuple[QObject, Callable]] = {}
        self._tickets = itertools.count(1)
        self._done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        app.aboutToQuit.connect(self.shutdown)

    def submit(self, owner: QObject, work: Callable[[], object],
               on_done: Callable[[object, Exception | None], None]) -> int:
        ticket = next(self._tickets)
        self._waiting[ticket] = (owner, on_done)

        def run() -> None:
            waiting = self._waiting.get(ticket)
            if waiting is None:
                return  # cancelled before it started
            result = error = None
            if shiboken6.isValid(waiting[0]):  # else its widget is gone: skip the work
                try:
                    result = work()
                except Exception as exc:  # handed to the UI thread, which decides what it is
                    error = exc
            self._done.emit(ticket, result, error)

        self.pool.start(run)
        return ticket

    def cancel(self, ticket: int) -> None:
        self._waiting.pop(ticket, None)

    @Slot(int, object, object)
    def _deliver(self, ticket: int, result: object, error: object) -> None:
        owner, on_done = self._waiting.pop(ticket, (None, None))
        if on_done is not None and shiboken6.isValid(owner):
            on_done(result, error)

    @Slot()
    def shutdown(self) -> None:
        self._waiting.clear()
        self.pool.clear()
        self.pool.waitForDone()


_background: _Background | None = None


def _shared() -> _Background:
    global _background
    if _background is None or not shiboken6.isValid(_background):
        _background = _Background(QCoreApplication.instance())
    return _background


def run_off_ui_thread(owner: QObject, work: Callable[[], object],
                      on_done: Callable[[object, Exception | None], None]) -> int:
    """Run `work` in the photo pool; call `on_done(result, error)` in the UI thread while
    `owner` exists. Returns a ticket for cancel_off_ui_thread."""
    return _shared().submit(owner, work, on_done)


def cancel_off_ui_thread(ticket: int) -> None:
    """Forget a job: it is skipped if not started, and its result is dropped."""
    _shared().cancel(ticket)


def wait_off_ui_thread(msecs: int = -1) -> bool:
    """Block until the pool is idle (tests; quitting). True when it is."""
    return _shared().pool.waitForDone(msecs)


def report_bug(error: BaseException) -> None:
    """A worker's unexpected exception: through the global error hook (dialog and log)."""
    sys.excepthook(type(error), error, error.__traceback__)


class PhotoIngest(QObject):
    """Prepares photo files in the background; the caller records each ready one quickly.

    Files added while a run is going join it; `finished` comes once all are done.
    """

    progress = Signal(int, int)          # done, total
    photo_ready = Signal(object, object)  # PreparedPhoto, the context given with the file
    failed = Signal(str, str)            # file name, Chinese message with what to do
    finished = Signal()

    def __init__(self, photos_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.photos_dir = photos_dir
        self._tickets: set[int] = set()
        self._done = self._total = 0

    def is_running(self) -> bool:
        return bool(self._tickets)

    def add_files(self, paths: Iterable[Path | str], context: object = None) -> None:
        for path in map(Path, paths):
            self._submit(path.name, lambda p=path: read_photo_file(p), context)

    def add_bytes(self, name: str, data: bytes, context: object = None) -> None:
        self._submit(name, lambda: data, context)

    def cancel(self) -> None:
        """Stop what has not started; files already written stay (no row refers to them)."""
        for ticket in self._tickets:
            cancel_off_ui_thread(ticket)
        running, self._tickets = bool(self._tickets), set()
        self._done = self._total = 0
        if running:
            self.finished.emit()

    def _submit(self, name: str, load: Callable[[], bytes], context: object) -> None:
        photos_dir = self.photos_dir
        ticket = 0

        def work() -> PreparedPhoto:
            return prepare_photo(photos_dir, load(), name)

        def done(result: object, error: Exception | None) -> None:
            self._finish_one(ticket, name, result, error, context)

        ticket = run_off_ui_thread(self, work, done)
        self._tickets.add(ticket)
        self._total += 1
        if self._total == 1:
            self.progress.emit(0, 1)

    def _finish_one(self, ticket: int, name: str, result: object, error: Exception | None,
                    context: object) -> None:
        self._tickets.discard(ticket)
        self._done += 1
        self.progress.emit(self._done, self._total)
        if error is None:
            self.photo_ready.emit(result, context)
        elif isinstance(error, FieldCheckError):
            self.failed.emit(name, error.text())
        else:
            self.failed.emit(name, BUG_TEXT)
        if not self._tickets:
            self._done = self._total = 0
            self.finished.emit()
        if error is not None and not isinstance(error, FieldCheckError):
            report_bug(error)
