"""The pieces of the walk screen: the item's text, the answer buttons, checklist progress."""
from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from models.checklist import ChecklistItem
from models.inspection import AnswerResult
from models.walk_queries import WalkItem
from ui.plain_text import rich
from ui.style import GREEN, GREY, RED

ANSWER_STYLE = {
    AnswerResult.COMPLIANT: GREEN,
    AnswerResult.NONCOMPLIANT: RED,
    AnswerResult.NOT_APPLICABLE: GREY,
}


class ItemText(QWidget):
    """Question (large), how to check it, and its legal basis."""

    def __init__(self) -> None:
        super().__init__()
        self.position = QLabel()
        self.position.setStyleSheet("color: #546e7a;")
        self.major_tag = QLabel("重大隐患判定项")
        self.major_tag.setStyleSheet(f"color: white; background: {RED}; padding: 2px 8px; border-radius: 3px;")
        self.question = QLabel()
        self.question.setObjectName("question")
        self.question.setWordWrap(True)
        self.question.setStyleSheet("font-size: 16pt; font-weight: bold;")
        self.how = rich(QLabel())
        self.how.setWordWrap(True)
        self.basis = rich(QLabel())
        self.basis.setWordWrap(True)
        self.basis.setStyleSheet("color: #455a64;")
        head = QHBoxLayout()
        head.addWidget(self.position)
        head.addWidget(self.major_tag)
        head.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.question)
        layout.addWidget(self.how)
        layout.addWidget(self.basis)

    def show_item(self, item: ChecklistItem, number: int, total: int) -> None:
        self.position.setText(f"{item.area} · {item.code} · 第 {number}/{total} 项")
        self.major_tag.setVisible(item.major)
        self.question.setText(item.question)
        # Checklist text can arrive in a bundle too: escaped like any record text.
        self.how.setText(f"<b>检查方法：</b>{escape(item.how_to_check)}")
        basis = f"<b>依据：</b>{escape(item.legal_basis)}"
        if item.major:
            basis += f"<br><b>不符合即为重大事故隐患：</b>{escape(item.major_clause)}"
        self.basis.setText(basis)


class AnswerButtons(QWidget):
    """符合 / 不符合 / 不适用 — big, also on keys 1/2/3."""

    answered = Signal(object)  # AnswerResult

    def __init__(self) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 6)
        self.buttons: dict[AnswerResult, QPushButton] = {}
        for key, result in enumerate(AnswerResult, 1):
            button = QPushButton(f"{result.label}  ({key})")
            button.setObjectName(f"answer_{result.value}")
            button.setCheckable(True)
            button.setMinimumHeight(60)
            button.clicked.connect(lambda _=False, r=result: self.answered.emit(r))
            self.buttons[result] = button
            layout.addWidget(button)

    def show_result(self, result: AnswerResult | None, enabled: bool) -> None:
        for value, button in self.buttons.items():
            chosen = value == result
            button.setChecked(chosen)
            button.setEnabled(enabled)
            colour = ANSWER_STYLE[value]
            button.setStyleSheet(
                f"font-size: 15pt; font-weight: bold; background: {colour}; color: white;"
                if chosen else f"font-size: 15pt; color: {colour}; border: 2px solid {colour};"
                " border-radius: 4px;")


class ChecklistProgress(QWidget):
    """One progress bar per checklist: answered / total."""

    def __init__(self) -> None:
        super().__init__()
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.bars: dict[str, QProgressBar] = {}

    def show_items(self, items: list[WalkItem]) -> None:
        totals: dict[str, list] = {}
        for walk in items:
            entry = totals.setdefault(walk.checklist_code, [walk.item.area, 0, 0])
            entry[1] += 1
            entry[2] += walk.result is not None
        for code, (area, total, done) in totals.items():
            bar = self.bars.get(code)
            if bar is None:
                bar = self.bars[code] = QProgressBar()
                bar.setObjectName(f"progress_{code}")
                self.layout_.addWidget(bar)
            bar.setMaximum(total)
            bar.setValue(done)
            bar.setFormat(f"{area} {done}/{total}")
