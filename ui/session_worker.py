"""Work on the store off the UI thread (an Excel ledger, a 通报: tens of seconds at office
scale): `done` carries what `work(session)` returned, or the exception it raised."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QThread, Signal


class SessionWorker(QThread):
    done = Signal(object)

    def __init__(self, store, work: Callable, parent=None) -> None:
        super().__init__(parent)
        self.store, self.work = store, work

    def run(self) -> None:
        try:
            with self.store.session() as s:
                result = self.work(s)
        except Exception as exc:  # handed to the UI thread, which decides what it is
            self.done.emit(exc)
            return
        self.done.emit(result)


class LatestOnly:
    """One count at a time on the database, and only the latest asked for behind it: asked
    again while one runs, the new `work` waits (replacing any waiting already, never run) and
    starts when the running one ends, whose answer is then dropped as overtaken. `start(work,
    then)` starts a worker that calls `then(result)` on the UI thread when it ends."""

    def __init__(self, start: Callable[[Callable, Callable], object]) -> None:
        self._start, self.running, self._waiting = start, None, None

    def ask(self, work: Callable, then: Callable) -> None:
        if self.running is not None:
            self._waiting = (work, then)
            return
        self._launch(work, then)

    def forget_waiting(self) -> None:
        """The page goes: what waits is never started."""
        self._waiting = None

    def _launch(self, work: Callable, then: Callable) -> None:
        def ended(result) -> None:
            self.running = None
            waiting, self._waiting = self._waiting, None
            if waiting is not None:
                self._launch(*waiting)
            else:
                then(result)
        self.running = self._start(work, ended)
