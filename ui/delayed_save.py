"""One delayed save for every field that saves without a button, and the label that says so.

An edit marks the field dirty and (re)starts a short single-shot timer; `flush()` writes when
dirty. The timer, navigation, finalizing, leaving the field and closing all call `flush()` —
never "return unless the timer is active": a single-shot timer is already inactive inside its
own timeout (STYLE.md, Lessons).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from models.base import utcnow
from models.errors import FieldCheckError

SAVE_DELAY_MS = 600  # well inside the promise: on disk within a second of the last keystroke
DISPLAY_ZONE = "Asia/Shanghai"


def display_zone() -> ZoneInfo:
    """The zone times are shown in (the agency's, once it is a setting)."""
    return ZoneInfo(DISPLAY_ZONE)


def clock_text(moment: datetime) -> str:
    """10:42:05 in the display zone."""
    return moment.astimezone(display_zone()).strftime("%H:%M:%S")


class DelayedSave(QObject):
    """Calls `write()` a pause after the last `touch()`, or at once on `flush()`.

    `write` raises FieldCheckError when the edit cannot be stored; the field stays dirty,
    so the next edit or flush tries again.
    """

    IDLE, PENDING, SAVED, FAILED = "idle", "pending", "saved", "failed"
    IDLE_TEXT = "编辑后自动保存"
    state_changed = Signal(str, str)  # state, the text to show
    written = Signal()

    def __init__(self, write: Callable[[], None], parent: QObject, *,
                 now: Callable[[], datetime] | None = None, delay_ms: int = SAVE_DELAY_MS) -> None:
        super().__init__(parent)
        self._write, self._now = write, now or utcnow
        self.dirty = False
        self._paused = 0
        self._writing = False
        self._timer = QTimer(self, singleShot=True, interval=delay_ms)
        self._timer.timeout.connect(self.flush)

    def touch(self) -> None:
        """The user changed the field (ignored while the page fills it in itself)."""
        if self._paused:
            return
        self.dirty = True
        self._timer.start()
        self.state_changed.emit(self.PENDING, "正在保存…")

    def flush(self) -> bool:
        """Write now if anything is waiting; False when the write was refused."""
        self._timer.stop()
        if not self.dirty or self._writing:  # a write that reloads the page must not recurse
            return True
        self._writing = True
        try:
            self._write()
        except FieldCheckError as exc:
            hint = "" if exc.hint else "；改正后会自动再次保存"
            self.state_changed.emit(self.FAILED, f"保存失败：{exc.text()}{hint}")
            return False
        except Exception:
            self.state_changed.emit(self.FAILED, "保存失败：程序内部出错，请把日志发给技术支持")
            raise
        finally:
            self._writing = False
        self.dirty = False
        self.state_changed.emit(self.SAVED, f"已保存 {clock_text(self._now())}")
        self.written.emit()
        return True

    def discard(self) -> None:
        """What was waiting has been stored another way (e.g. with the answer)."""
        self._timer.stop()
        self.mark_saved()

    def mark_saved(self) -> None:
        """The page stored these fields itself (a choice saved at once): say so."""
        self.dirty = False
        self.state_changed.emit(self.SAVED, f"已保存 {clock_text(self._now())}")

    def reset(self) -> None:
        """The fields now show another record: nothing of theirs is waiting."""
        self._timer.stop()
        self.dirty = False
        self.state_changed.emit(self.IDLE, self.IDLE_TEXT)

    @contextmanager
    def paused(self):
        """The page fills the fields in: those changes are not the user's edits."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def flush_on_focus_out(self, *widgets: QWidget) -> None:
        """Leaving a field (a click elsewhere, Tab, another page) writes it at once."""
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.FocusOut:
            self.flush()
        return False


class SaveStateLabel(QLabel):
    """已保存 10:42:05 / 正在保存… / 保存失败：原因和办法 — next to the fields it speaks for."""

    COLOURS = {DelayedSave.IDLE: "#757575", DelayedSave.PENDING: "#1565c0", DelayedSave.SAVED: "#2e7d32",
               DelayedSave.FAILED: "#c62828"}

    def __init__(self, *savers: DelayedSave, parent: QWidget | None = None) -> None:
        super().__init__(DelayedSave.IDLE_TEXT, parent)
        self.setObjectName("saveState")
        self.setWordWrap(True)
        self.setStyleSheet("color: #757575;")
        for saver in savers:
            self.follow(saver)

    def follow(self, saver: DelayedSave) -> None:
        saver.state_changed.connect(self.show_state)

    def show_state(self, state: str, text: str) -> None:
        self.setText(text)
        self.setToolTip(text)
        weight = "bold" if state == DelayedSave.FAILED else "normal"
        self.setStyleSheet(f"color: {self.COLOURS[state]}; font-weight: {weight};")
