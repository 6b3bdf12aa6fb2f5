"""The one-page setup at first start: the agency and at least two inspectors.

Skippable (稍后设置) so the demo can be looked around in; it comes back at the next start.
"""
from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QGridLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError, ValidationError
from models.settings_rules import (add_inspector, agency_problems, get_agency_settings,
                                   list_inspectors, save_agency_settings, setup_needed,
                                   update_inspector)
from models.store import Store
from ui.messages import show_error
from ui.settings_dialog import (button_row, error_label, form_grid, labelled, show_problem,
                                show_problems)

MIN_INSPECTORS = 2
MAX_ROWS = 6


class PersonRow:
    """One inspector's line: name, certificate number, and the error under them."""

    def __init__(self, grid: QGridLayout, number: int, inspector_id: uuid.UUID | None = None,
                 name: str = "", certificate_no: str = "") -> None:
        self.id = inspector_id
        self.name = QLineEdit(name, placeholderText="姓名")
        self.certificate_no = QLineEdit(certificate_no, placeholderText="执法证号")
        self.error = error_label()
        line = 2 * number
        grid.addWidget(QLabel(f"{number + 1}."), line, 0)
        grid.addWidget(self.name, line, 1)
        grid.addWidget(self.certificate_no, line, 2)
        grid.addWidget(self.error, line + 1, 1, 1, 2)

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.certificate_no.text().strip()

    def is_blank(self) -> bool:
        return self.values() == ("", "")


class FirstRunDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("欢迎使用 FieldCheck")
        self.setMinimumWidth(700)
        self.rows: list[PersonRow] = []
        title = QLabel("欢迎使用工贸安全现场检查")
        title.setProperty("role", "title")
        intro = QLabel("请先填写本单位和执法人员，约一分钟即可完成；以后可在“设置”中修改。\n"
                       "只想先看看演示数据，可点“稍后设置”。")
        intro.setWordWrap(True)
        self.problems = error_label()
        self.finish_button = QPushButton("完成")
        buttons = button_row(self, self.finish_button, self._finish, cancel_text="稍后设置")
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        for part in (title, intro, self._agency_form(), self._people_section(), self.problems):
            layout.addWidget(part)
        layout.addLayout(buttons)
        self._load()

    def _agency_form(self) -> QWidget:
        box = QWidget()
        self.agency_name = QLineEdit(placeholderText="例如 湘乡市应急管理局")
        self.region_short = QLineEdit(placeholderText="例如 湘乡")
        self.errors = {"agency_name": error_label(), "region_short": error_label()}
        grid = form_grid([
            ("执法机关名称", labelled(self.agency_name, self.errors["agency_name"])),
            ("文书编号简称", labelled(self.region_short, self.errors["region_short"],
                                "用于文书编号，如（湘乡）应急检记〔2026〕1号"))], box)
        grid.setContentsMargins(0, 6, 0, 0)
        return box

    def _people_section(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("执法人员（现场检查须至少两人）")
        heading.setStyleSheet("font-weight: bold;")
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 2)
        self.grid.setColumnStretch(2, 3)
        self.add_button = QPushButton("＋ 添加执法人员")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_row().name.setFocus())
        column.addWidget(heading)
        column.addLayout(self.grid)
        column.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def add_row(self, inspector_id: uuid.UUID | None = None, name: str = "",
                certificate_no: str = "") -> PersonRow:
        row = PersonRow(self.grid, len(self.rows), inspector_id, name, certificate_no)
        self.rows.append(row)
        # More people can be added in 设置; the page must stay within a 768-pixel screen.
        self.add_button.setVisible(len(self.rows) < MAX_ROWS)
        self._chain_tabs()
        return row

    def _chain_tabs(self) -> None:
        """Rows are added after the buttons exist; keep Tab going top to bottom."""
        chain = [self.agency_name, self.region_short,
                 *(field for r in self.rows for field in (r.name, r.certificate_no)),
                 self.add_button, self.cancel_button, self.finish_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _load(self) -> None:
        with self.store.session() as s:  # closed without commit: nothing is stored by looking
            settings = get_agency_settings(s)
            self._settings = {k: getattr(settings, k) for k in (
                "reconsideration_government", "court", "reinspection_due_days", "serial_start")}
            people = [(p.id, p.name, p.certificate_no) for p in list_inspectors(s)]
        self.agency_name.setText(settings.agency_name)
        self.region_short.setText(settings.region_short)
        for person in people:
            self.add_row(*person)
        while len(self.rows) < MIN_INSPECTORS:
            self.add_row()

    def _check_form(self) -> bool:
        """Show every problem next to its field; True when the form can be saved."""
        problems = agency_problems(agency_name=self.agency_name.text(),
                                   region_short=self.region_short.text())
        for key, label in self.errors.items():
            show_problem(label, problems.get(key))
        seen: dict[str, int] = {}
        for number, row in enumerate(self.rows, 1):
            name, cert = row.values()
            text = ("" if row.is_blank() else "请填写姓名" if not name else "请填写执法证号"
                    if not cert else f"执法证号与第 {seen[cert]} 行重复" if cert in seen else "")
            seen.setdefault(cert, number)
            show_problem(row.error, text)
        complete = sum(1 for r in self.rows if all(r.values()))
        show_problems(self.problems, [] if complete >= MIN_INSPECTORS else
                      [f"请至少填写 {MIN_INSPECTORS} 名执法人员的姓名和执法证号"])
        return not problems and complete >= MIN_INSPECTORS and not any(
            r.error.isVisibleTo(self) for r in self.rows)

    def _finish(self) -> None:
        if not self._check_form():
            return
        try:
            with self.store.transaction(label="save_settings") as s:
                save_agency_settings(s, agency_name=self.agency_name.text(),
                                     region_short=self.region_short.text(), **self._settings)
                for row in self.rows:
                    if row.id is not None:
                        update_inspector(s, row.id, *row.values(), active=True)
                    elif not row.is_blank():
                        add_inspector(s, *row.values())
        except ValidationError as exc:
            show_problems(self.problems, exc.problems or [exc.message])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.accept()


def maybe_run_first_setup(store: Store, parent: QWidget | None = None) -> None:
    """At start: ask for the setup only while it is needed (a demo store needs none)."""
    with store.session() as s:
        needed = setup_needed(s)
    if needed:
        FirstRunDialog(store, parent).exec()
