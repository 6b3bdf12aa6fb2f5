"""Writing to disk while the writing goes on: every FLUSH_EVERY bytes written, a flush runs
on a thread of its own, so the last flush — the one an export or import waits for — finds
little left (a third of a second for 480 MB of photos, before). Used by the export's zip and
sealed copy (fdatasync of that file) and by the import's staging (os.sync: thousands of
files)."""
from __future__ import annotations

import threading
from collections.abc import Callable

FLUSH_EVERY = 64 * 1024 * 1024


class BackgroundFlush:
    """`wrote(size)` from the writing thread; `flush()` runs on the flush thread every
    FLUSH_EVERY bytes (after `before()`, on the writing thread: e.g. its buffer written out).
    The first OSError of a flush is kept in `error`; `stop()` waits for a flush asked before."""

    def __init__(self, flush: Callable[[], None], before: Callable[[], None] | None = None,
                 name: str = "flush") -> None:
        self._flush, self._before = flush, before
        self.asked, self.error = threading.Event(), None
        self.done, self.pending, self.written, self.flushed = False, False, 0, 0
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.asked.wait()
            self.asked.clear()
            if self.pending:  # asked before stop: still done (its error still counts)
                self.pending = False
                try:
                    self._flush()
                except OSError as exc:
                    self.error = self.error or exc
            if self.done:
                return

    def wrote(self, size: int) -> None:
        self.written += size
        if self.written - self.flushed >= FLUSH_EVERY:
            self.flushed = self.written
            if self._before is not None:
                self._before()
            self.pending = True
            self.asked.set()

    def stop(self) -> None:
        self.done = True
        self.asked.set()
        self.thread.join()
