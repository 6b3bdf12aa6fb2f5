"""Errors the user can cause or meet (shown to them) versus our own bugs.

Every `FieldCheckError` carries a Chinese headline and a line saying what to do,
so the UI and the CLI can show it without a traceback (see STYLE.md: KnownError).
"""
from __future__ import annotations


class FieldCheckError(Exception):
    """A situation of the user's (bad input, damaged file, full disk) — never a bug."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def text(self) -> str:
        """One line fit for a message box or stderr."""
        return f"{self.message}{'；' + self.hint if self.hint else ''}"

    def __str__(self) -> str:
        return self.text()


class ValidationError(FieldCheckError):
    """Input that breaks a domain rule; `problems` lists every reason."""

    def __init__(self, message: str, problems: list[str] | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])

    def text(self) -> str:
        if not self.problems:
            return super().text()
        return f"{self.message}：" + "；".join(self.problems)


class NotFoundError(FieldCheckError):
    """A record named by the user does not exist."""


class FinalizedRecordError(FieldCheckError):
    """An attempt to change a finalized (signed) record."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what}已定稿，不能修改",
            "如需更正，请新建更正记录（原记录保留并被引用）",
        )


class StoreError(FieldCheckError):
    """The local database cannot be opened, checked or migrated."""


class PhotoError(FieldCheckError):
    """A file offered as a photo cannot be used."""


class ChecklistFileError(FieldCheckError):
    """A checklist data file is malformed: names the file, the item and the reason."""

    def __init__(self, file: str, item: str | None, reason: str) -> None:
        where = f"清单文件 {file}" + (f" 的检查项 {item}" if item else "")
        super().__init__(f"{where}有误：{reason}", "请改正该文件后重新加载")
        self.file, self.item, self.reason = file, item, reason
