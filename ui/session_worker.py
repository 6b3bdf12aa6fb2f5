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
