"""设置: the agency (names used in documents, serial range) and the inspectors' profiles.

Edits are kept in the dialog until 保存, which writes everything in one transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from documents.keys import identity_exists
from models.errors import FieldCheckError, ValidationError
from models.local_time import DEFAULT_ZONE
from models.settings_rules import (
    COPIES_MAX,
    add_inspector,
    agency_problems,
    default_remedy_bodies,
    get_agency_settings,
    list_inspectors,
    save_agency_settings,
    update_inspector,
)
from models.store import Store
from ui.messages import show_error
from ui.style import GREY, RED
from ui.table_model import RowTableModel

# Small form helpers, shared with the first-run and new-inspection dialogs.

def error_label() -> QLabel:
    """A red line under a field (or a form), hidden while there is nothing to say."""
    label = QLabel()
    label.setProperty("role", "fieldError")
    label.setStyleSheet(f"color: {RED};")  # also when the app style is not applied (tests)
    label.setWordWrap(True)
    label.hide()
    return label


def show_problem(label: QLabel, text: str | None) -> None:
    label.setText(text or "")
    label.setVisible(bool(text))


def show_problems(label: QLabel, problems: list[str]) -> None:
    show_problem(label, "\n".join(f"· {p}" for p in problems))


def form_grid(rows: list[tuple[str, QWidget]], parent: QWidget | None = None) -> QGridLayout:
    """Label + field rows; each label faces its field's first line, not the field plus its notes."""
    grid = QGridLayout(parent)
    grid.setVerticalSpacing(10)
    grid.setColumnStretch(1, 1)
    for number, (text, field) in enumerate(rows):
        label = QLabel(text)
        label.setMinimumHeight(36)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(label, number, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(field, number, 1)
    grid.setRowStretch(len(rows), 1)
    return grid


def labelled(field: QWidget, error: QLabel, note: str = "") -> QWidget:
    """A field with its (grey) explanation and its error line underneath."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    column.addWidget(field)
    if note:
        hint = QLabel(note)
        hint.setWordWrap(True)
        hint.setStyleSheet(f"color: {GREY};")
        column.addWidget(hint)
    column.addWidget(error)
    return box


def suggest_remedy_bodies(agency: QLineEdit, government: QLineEdit, court: QLineEdit) -> None:
    """While the agency's name is typed, suggest the reconsideration authority and the court
    of its area (models.settings_rules) in those fields — unless the user wrote their own."""
    last = [("", "")]

    def follow(text: str) -> None:
        suggestion = default_remedy_bodies(text)
        for field, before, now in zip((government, court), last[0], suggestion):
            if field.text() in ("", before):
                field.setText(now)
        last[0] = suggestion
    agency.textChanged.connect(follow)


def button_row(dialog: QDialog, ok: QPushButton, on_ok, cancel_text: str = "取消") -> QHBoxLayout:
    """取消 (kept as `dialog.cancel_button`) left of the primary button; Enter presses the
    primary one, Esc cancels."""
    ok.setProperty("role", "primary")
    ok.setMinimumHeight(44)
    ok.setDefault(True)
    ok.clicked.connect(on_ok)
    cancel = QPushButton(cancel_text)
    cancel.setAutoDefault(False)
    cancel.clicked.connect(dialog.reject)
    dialog.cancel_button = cancel
    row = QHBoxLayout()
    row.addStretch()
    row.addWidget(cancel)
    row.addWidget(ok)
    return row


class InspectorDialog(QDialog):
    """Add or edit one inspector; `taken` maps certificate numbers already in use to names."""

    def __init__(self, parent: QWidget, name: str = "", certificate_no: str = "",
                 taken: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("编辑执法人员" if name else "添加执法人员")
        self.taken = taken or {}
        self.name = QLineEdit(name)
        self.certificate_no = QLineEdit(certificate_no, placeholderText="执法证上的编号")
        self.name_error, self.cert_error = error_label(), error_label()
        layout = QVBoxLayout(self)
        layout.addLayout(form_grid([("姓名", labelled(self.name, self.name_error)),
                                    ("执法证号", labelled(self.certificate_no, self.cert_error))]))
        layout.addLayout(button_row(self, QPushButton("确定"), self._accept))
        self.setMinimumWidth(460)

    def values(self) -> tuple[str, str]:
        return self.name.text().strip(), self.certificate_no.text().strip()

    def _accept(self) -> None:
        name, cert = self.values()
        holder = self.taken.get(cert)
        show_problem(self.name_error, "" if name else "请填写执法人员姓名")
        show_problem(self.cert_error, "请填写执法证号" if not cert else
                     f"执法证号 {cert} 已登记给 {holder}" if holder else "")
        if name and cert and not holder:
            self.accept()


@dataclass(frozen=True)
class InspectorRow:
    """An inspector as edited in the dialog; `id` is None until saved."""
    id: uuid.UUID | None
    name: str
    certificate_no: str
    active: bool = True


class InspectorTableModel(RowTableModel):
    COL_NAME, COL_CERTIFICATE, COL_ACTIVE = range(3)
    HEADERS = ("姓名", "执法证号", "在用")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.name, row.certificate_no, "在用" if row.active else "已停用")[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and not row.active:
            return QColor(GREY)
        return None


class SettingsDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("设置")
        self.resize(980, 680)  # room for the 在岗与回避 tables (fits 1366×768)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._agency_tab(), "执法机关")
        self.tabs.addTab(self._people_tab(), "执法人员")
        from ui.trust_dialogs import AgencyPanel
        self.agency_panel = AgencyPanel(store)
        self.tabs.addTab(self.agency_panel, "机构与密钥")
        from ui.plan_settings_tabs import add_plan_tabs  # 计划执法 (#15): 在岗与回避, 计划规则
        self.plan_tabs = add_plan_tabs(self.tabs, store)
        from ui.update_panel import UpdatePanel
        self.tabs.addTab(UpdatePanel(store.data_dir), "软件更新")
        from ui.data_check_panel import DataCheckPanel
        self.data_check = DataCheckPanel(store)
        self.tabs.addTab(self.data_check, "数据检查")
        from models.case_range import case_range
        if case_range(store.data_dir) is not None:  # enrolled: the office's range counts
            self.serial_start.setEnabled(False)
            self.serial_start.setToolTip("本机已由办公室登记，文书编号使用登记文件中的编号段")
        self.problems = error_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.problems)
        self.save_button = QPushButton("保存")
        layout.addLayout(button_row(self, self.save_button, self._save))
        self._load()

    def _agency_tab(self) -> QWidget:
        page = QWidget()
        self.agency_name = QLineEdit(placeholderText="例如 湘乡市应急管理局")
        self.region_short = QLineEdit(placeholderText="例如 湘乡")
        self.government = QLineEdit(placeholderText="例如 湘乡市人民政府")
        self.court = QLineEdit(placeholderText="例如 湘乡市人民法院")
        suggest_remedy_bodies(self.agency_name, self.government, self.court)
        self.due_days = QSpinBox(minimum=1, maximum=90, suffix=" 天")
        self.serial_start = QSpinBox(minimum=1, maximum=999999)
        self.time_zone = QLineEdit(placeholderText=DEFAULT_ZONE)
        self.copies = QSpinBox(minimum=1, maximum=COPIES_MAX, suffix=" 份")
        self.errors = {key: error_label() for key in agency_problems(
            agency_name="", region_short="", reinspection_due_days=0, serial_start=0,
            time_zone="", document_copies=0)}
        for spin in (self.due_days, self.serial_start, self.copies):
            spin.setMaximumWidth(200)
        rows = [("机关名称", labelled(self.agency_name, self.errors["agency_name"])),
                ("文书编号简称", labelled(self.region_short, self.errors["region_short"],
                                    "用于文书编号，如（湘乡）应急检记〔2026〕1号")),
                ("行政复议机关", self.government),
                ("人民法院", self.court),
                ("复查提醒天数", labelled(self.due_days, self.errors["reinspection_due_days"])),
                ("本机文书起始编号", labelled(self.serial_start, self.errors["serial_start"],
                                      "每台电脑用各自的编号段（如 1、501、1001 起），离线文书不会重号")),
                ("时区", labelled(self.time_zone, self.errors["time_zone"],
                                "文书和各界面的日期时间按此时区显示，与本机时区设置无关（默认 Asia/Shanghai 北京时间）")),
                ("打印份数", labelled(self.copies, self.errors["document_copies"],
                                  "「打印全部」时每份文书打印的份数（文书式样：一式两份）")),
                ("本机导出签名指纹", labelled(self._fingerprint_field(), error_label(),
                                      "办公室首次导入本机的导出包时，请核对显示的指纹与此一致"))]
        form_grid(rows, page)
        return page

    def _fingerprint_field(self) -> QLabel:
        from sync.crypto import device_fingerprint
        try:
            text = device_fingerprint(self.store.data_dir)
        except FieldCheckError as exc:
            text = exc.message
        self.fingerprint = QLabel(text)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setStyleSheet("font-family: monospace; font-weight: bold;")
        return self.fingerprint

    def _people_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        note = QLabel("每次现场检查须有至少两名持执法证的人员。停用的人员不再出现在新建检查中，"
                      "已有记录不受影响。")
        note.setWordWrap(True)
        self.people = InspectorTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.people)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self._edit_person)
        self.add_button = QPushButton("＋ 添加执法人员")
        self.edit_button = QPushButton("编辑…")
        self.toggle_button = QPushButton("停用")
        self.create_key_button = QPushButton("生成签名证书…")
        self.create_key_button.setToolTip("在本机为该执法人员生成签名证书并设置签名口令，出发前完成")
        self.create_key_button.clicked.connect(self._create_certificate)
        self.certificate_button = QPushButton("导入签名证书…")
        self.certificate_button.setToolTip("使用本单位颁发的 .p12/.pfx 证书签署文书")
        self.certificate_button.clicked.connect(self._import_certificate)
        self.key_status = QLabel()
        self.key_status.setWordWrap(True)
        self.add_button.clicked.connect(self._add_person)
        self.edit_button.clicked.connect(self._edit_person)
        self.toggle_button.clicked.connect(self._toggle_person)
        self.table.selectionModel().currentRowChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.edit_button, self.toggle_button, self.create_key_button,
                  self.certificate_button):
            buttons.addWidget(b)
        buttons.addStretch()
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.key_status)
        layout.addLayout(buttons)
        return page

    def _load(self) -> None:
        with self.store.session() as s:  # closed without commit: a missing row is not stored
            settings = get_agency_settings(s)
            people = [InspectorRow(p.id, p.name, p.certificate_no, p.active)
                      for p in list_inspectors(s, active_only=False)]
        self.government.setText(settings.reconsideration_government)
        self.court.setText(settings.court)
        self.agency_name.setText(settings.agency_name)  # then: blank bodies get the suggestion
        self.region_short.setText(settings.region_short)
        self.due_days.setValue(settings.reinspection_due_days)
        self.serial_start.setValue(settings.serial_start)
        self.time_zone.setText(settings.time_zone)
        self.copies.setValue(settings.document_copies)
        self.people.set_rows(people)
        self._update_buttons()

    # 执法人员 tab
    def _current_row(self) -> int | None:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else None

    def _update_buttons(self, *_args) -> None:
        row = self._current_row()
        self.edit_button.setEnabled(row is not None)
        self.toggle_button.setEnabled(row is not None)
        active = row is None or self.people.rows[row].active
        self.toggle_button.setText("停用" if active else "重新启用")
        saved = row is not None and self.people.rows[row].id is not None
        self.certificate_button.setEnabled(saved)
        self.create_key_button.setEnabled(saved)
        self._show_key_status()

    def _show_key_status(self) -> None:
        """Whether the chosen inspector can sign: set up before going on site, not at the table."""
        row = self._current_row()
        if row is None:
            self.key_status.setText("选择一名执法人员，可生成或导入其签名证书。")
            return
        person = self.people.rows[row]
        if person.id is None:
            text, colour = f"{person.name}：保存后可生成或导入签名证书。", GREY
        elif identity_exists(self.store.data_dir, person.id):
            text, colour = f"{person.name}：已有签名证书，签署文书时输入本人的签名口令。", GREY
        else:
            text, colour = (f"{person.name}：尚未设置签名证书。请在出发前“生成签名证书”"
                            "（设置签名口令）或“导入签名证书”。", RED)
        self.key_status.setText(text)
        self.key_status.setStyleSheet(f"color: {colour};")

    def _chosen_saved_person(self) -> InspectorRow | None:
        row = self._current_row()
        if row is None or self.people.rows[row].id is None:
            return None
        return self.people.rows[row]

    def _create_certificate(self) -> None:
        from ui.certificate_import import create_certificate
        person = self._chosen_saved_person()
        if person is not None and create_certificate(
                self, self.store.data_dir, person.id, person.name, person.certificate_no,
                self.agency_name.text().strip()) is not None:
            self._show_key_status()

    def _import_certificate(self) -> None:
        from ui.certificate_import import import_certificate
        person = self._chosen_saved_person()
        if person is not None and import_certificate(self, self.store.data_dir, person.id, person.name):
            self._show_key_status()

    def _taken_certificates(self, except_row: int | None) -> dict[str, str]:
        return {r.certificate_no: r.name for n, r in enumerate(self.people.rows) if n != except_row}

    def _add_person(self) -> None:
        dialog = InspectorDialog(self, taken=self._taken_certificates(None))
        if dialog.exec():
            self._set_people(self.people.rows + [InspectorRow(None, *dialog.values())],
                             len(self.people.rows))

    def _edit_person(self, *_args) -> None:
        row = self._current_row()
        if row is None:
            return
        person = self.people.rows[row]
        dialog = InspectorDialog(self, person.name, person.certificate_no,
                                 taken=self._taken_certificates(row))
        if dialog.exec():
            name, cert = dialog.values()
            self._replace(row, replace(person, name=name, certificate_no=cert))

    def _toggle_person(self) -> None:
        row = self._current_row()
        if row is not None:
            person = self.people.rows[row]
            self._replace(row, replace(person, active=not person.active))

    def _replace(self, row: int, person: InspectorRow) -> None:
        rows = list(self.people.rows)
        rows[row] = person
        self._set_people(rows, row)

    def _set_people(self, rows: list[InspectorRow], current: int) -> None:
        self.people.set_rows(rows)
        self.table.selectRow(current)
        self._update_buttons()

    # Saving
    def _agency_values(self) -> dict:
        return dict(agency_name=self.agency_name.text(), region_short=self.region_short.text(),
                    reconsideration_government=self.government.text(), court=self.court.text(),
                    reinspection_due_days=self.due_days.value(),
                    serial_start=self.serial_start.value(),
                    time_zone=self.time_zone.text().strip() or DEFAULT_ZONE,
                    document_copies=self.copies.value())

    def _save(self) -> None:
        values = self._agency_values()
        problems = agency_problems(**{k: values[k] for k in self.errors})
        for key, label in self.errors.items():
            show_problem(label, problems.get(key))
        show_problems(self.problems, [])
        if problems:
            self.tabs.setCurrentIndex(0)
            return
        try:
            with self.store.transaction(label="save_settings") as s:
                save_agency_settings(s, **values)
                for p in self.people.rows:
                    if p.id is None:
                        add_inspector(s, p.name, p.certificate_no)
                    else:
                        update_inspector(s, p.id, p.name, p.certificate_no, p.active)
                for tab in self.plan_tabs:
                    tab.save(s)
        except ValidationError as exc:
            show_problems(self.problems, exc.problems or [exc.message])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.accept()
