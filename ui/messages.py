"""Showing the user's situation (FieldCheckError) as a Chinese message: headline + what to do."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from models.errors import FieldCheckError, ValidationError


def show_error(parent: QWidget | None, error: FieldCheckError, title: str = "无法完成操作") -> None:
    box = QMessageBox(QMessageBox.Icon.Warning, title, error.message, QMessageBox.StandardButton.Ok, parent)
    details = list(error.problems) if isinstance(error, ValidationError) else []
    info = "\n".join(f"· {p}" for p in details)
    if error.hint:
        info = f"{info}\n\n{error.hint}" if info else error.hint
    box.setInformativeText(info)
    box.exec()


def confirm(parent: QWidget | None, title: str, text: str, yes: str = "确定", no: str = "取消") -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is yes_button
