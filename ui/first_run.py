"""The one-page setup at first start: the agency, the bodies its documents name for a
review or a lawsuit, and at least two inspectors — each may set their signing passphrase
here, so the key is ready before going on site.

Skippable (稍后设置) so the demo can be looked around in; it comes back at the next start.
"""
from __future__ import annotations

import uuid

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QGridLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError, ValidationError
from documents.keys import create_inspector_identity, identity_exists, new_passphrase_problem
from models.settings_rules import (add_inspector, agency_problems, get_agency_settings,
                                   list_inspectors, remedy_problems, save_agency_settings,
                                   setup_needed, update_inspector)
from models.store import Store
from ui.messages import show_error
from ui.settings_dialog import (button_row, error_label, form_grid, labelled, show_problem,
                                show_problems, suggest_remedy_bodies)

MIN_INSPECTORS = 2
MAX_ROWS = 6


class PersonRow:
    """One inspector's line: name, certificate number, an optional new signing passphrase
    (typed twice), and the error under them."""

    def __init__(self, grid: QGridLayout, number: int, inspector_id: uuid.UUID | None = None,
                 name: str = "", certificate_no: str = "", has_key: bool = False) -> None:
        self.id = inspector_id
        self.name = QLineEdit(name, placeholderText="姓名")
        self.certificate_no = QLineEdit(certificate_no, placeholderText="执法证号")
        hint = "已有签名证书" if has_key else "签名口令（可稍后设置）"
        self.passphrase = QLineEdit(placeholderText=hint, echoMode=QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit(placeholderText="再输入一次口令", echoMode=QLineEdit.EchoMode.Password)
        self.passphrase.setEnabled(not has_key)
        self.repeat.setEnabled(not has_key)
        self.error = error_label()
        line = 2 * number
        grid.addWidget(QLabel(f"{number + 1}."), line, 0)
        for column, field in enumerate(self.fields(), 1):
            grid.addWidget(field, line, column)
        grid.addWidget(self.error, line + 1, 1, 1, 4)

    def fields(self) -> tuple[QLineEdit, ...]:
        return self.name, self.certificate_no, self.passphrase, self.repeat

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.certificate_no.text().strip()

    def is_blank(self) -> bool:
        return self.values() == ("", "")

    def passphrase_problem(self) -> str:
        """Why the typed passphrase cannot be used ("" when none is typed or it is fine)."""
        first, again = self.passphrase.text(), self.repeat.text()
        if not first and not again:
            return ""
        return new_passphrase_problem(first) or ("两次输入的签名口令不一致" if first != again else "")


class FirstRunDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("欢迎使用 FieldCheck")
        self.setMinimumWidth(860)
        self.rows: list[PersonRow] = []
        title = QLabel("欢迎使用工贸安全现场检查")
        title.setProperty("role", "title")
        intro = QLabel("请先填写本单位和执法人员，约一分钟即可完成；以后可在“设置”中修改。"
                       "每位执法人员可在此设置签名口令（签署文书时本人输入），本单位颁发证书的，"
                       "可在“设置 → 执法人员”中导入。\n只想先看看演示数据，可点“稍后设置”。")
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
        self.government = QLineEdit(placeholderText="例如 湘乡市人民政府")
        self.court = QLineEdit(placeholderText="例如 湘乡市人民法院")
        suggest_remedy_bodies(self.agency_name, self.government, self.court)
        self.errors = {key: error_label() for key in (
            "agency_name", "region_short", "reconsideration_government", "court")}
        grid = form_grid([
            ("执法机关名称", labelled(self.agency_name, self.errors["agency_name"])),
            ("文书编号简称", labelled(self.region_short, self.errors["region_short"],
                                "用于文书编号，如（湘乡）应急检记〔2026〕1号")),
            ("行政复议机关", labelled(self.government, self.errors["reconsideration_government"],
                                "本级人民政府，按机关名称自动填写，请核对")),
            ("人民法院", labelled(self.court, self.errors["court"],
                              "文书告知的行政诉讼法院，按机关名称自动填写，请核对"))], box)
        grid.setContentsMargins(0, 6, 0, 0)
        return box

    def _people_section(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("执法人员（现场检查须至少两人）　　姓名 · 执法证号 · 签名口令")
        heading.setStyleSheet("font-weight: bold;")
        self.grid = QGridLayout()
        for number, stretch in ((1, 2), (2, 3), (3, 3), (4, 3)):
            self.grid.setColumnStretch(number, stretch)
        self.add_button = QPushButton("＋ 添加执法人员")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(lambda: self.add_row().name.setFocus())
        column.addWidget(heading)
        column.addLayout(self.grid)
        column.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def add_row(self, inspector_id: uuid.UUID | None = None, name: str = "",
                certificate_no: str = "") -> PersonRow:
        has_key = inspector_id is not None and identity_exists(self.store.data_dir, inspector_id)
        row = PersonRow(self.grid, len(self.rows), inspector_id, name, certificate_no, has_key)
        self.rows.append(row)
        # More people can be added in 设置; the page must stay within a 768-pixel screen.
        self.add_button.setVisible(len(self.rows) < MAX_ROWS)
        self._chain_tabs()
        return row

    def _chain_tabs(self) -> None:
        """Rows are added after the buttons exist; keep Tab going top to bottom."""
        chain = [self.agency_name, self.region_short, self.government, self.court,
                 *(field for r in self.rows for field in r.fields()),
                 self.add_button, self.cancel_button, self.finish_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _load(self) -> None:
        with self.store.session() as s:  # closed without commit: nothing is stored by looking
            settings = get_agency_settings(s)
            self._settings = {k: getattr(settings, k) for k in (
                "reinspection_due_days", "serial_start")}
            people = [(p.id, p.name, p.certificate_no) for p in list_inspectors(s)]
        self.government.setText(settings.reconsideration_government)
        self.court.setText(settings.court)
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
        problems |= remedy_problems(reconsideration_government=self.government.text(),
                                    court=self.court.text())
        for key, label in self.errors.items():
            show_problem(label, problems.get(key))
        seen: dict[str, int] = {}
        for number, row in enumerate(self.rows, 1):
            name, cert = row.values()
            text = ("" if row.is_blank() else "请填写姓名" if not name else "请填写执法证号"
                    if not cert else f"执法证号与第 {seen[cert]} 行重复" if cert in seen
                    else row.passphrase_problem())
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
                                     region_short=self.region_short.text(),
                                     reconsideration_government=self.government.text(),
                                     court=self.court.text(), **self._settings)
                added = {}
                for row in self.rows:
                    if row.id is not None:
                        update_inspector(s, row.id, *row.values(), active=True)
                    elif not row.is_blank():
                        added[id(row)] = add_inspector(s, *row.values()).id
            for row in self.rows:  # saved: a second 完成 after a key problem updates them
                row.id = added.get(id(row), row.id)
            self._make_keys()
        except ValidationError as exc:
            show_problems(self.problems, exc.problems or [exc.message])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.accept()

    def _make_keys(self) -> None:
        """Each typed passphrase becomes that inspector's signing key, ready for the site."""
        agency = self.agency_name.text().strip()
        for row in self.rows:
            if row.id is not None and row.passphrase.isEnabled() and row.passphrase.text():
                create_inspector_identity(self.store.data_dir, row.id, *row.values(),
                                          row.passphrase.text(), agency)
                for field in (row.passphrase, row.repeat):
                    field.clear()
                    field.setEnabled(False)
                row.passphrase.setPlaceholderText("已有签名证书")


def maybe_run_first_setup(store: Store, parent: QWidget | None = None) -> None:
    """At start: ask for the setup only while it is needed (a demo store needs none)."""
    with store.session() as s:
        needed = setup_needed(s)
    if needed:
        FirstRunDialog(store, parent).exec()
