"""新建检查: pick the enterprise (search as you type), the team, place, time and checklists."""
from __future__ import annotations

import html
import uuid
from datetime import datetime, timezone

from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, Qt
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDateTimeEdit, QDialog, QHBoxLayout,
                               QLabel, QLineEdit, QListView, QPushButton, QStyledItemDelegate,
                               QVBoxLayout, QWidget)

from models.errors import FieldCheckError, ValidationError
from models.inspection_rules import NewInspection, start_inspection
from models.settings_rules import (EnterpriseChoice, checklist_choices, enterprise_choices,
                                   list_inspectors)
from models.store import Store
from ui.agency_clock import from_qt, on_agency_clock, to_qt
from ui.messages import show_error
from ui.plain_text import rich
from ui.settings_dialog import button_row, error_label, form_grid, show_problems

# No enterprise picked yet: the domain reports it together with every other problem.
NO_ENTERPRISE = uuid.UUID(int=0)
ROW_HEIGHT = 36
CHECKED, UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked


def matching(rows: list[EnterpriseChoice], text: str) -> list[EnterpriseChoice]:
    """Enterprises whose name or credit code contains `text` (case-insensitive)."""
    needle = text.strip().upper()
    return [r for r in rows if needle in r.name.upper() or needle in r.credit_code]


class EnterpriseListModel(QAbstractListModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[EnterpriseChoice] = []

    def set_rows(self, rows: list[EnterpriseChoice]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.name}\n{row.credit_code}　{row.address}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.address
        return None


class InspectorPickModel(QAbstractListModel):
    """Active inspectors, each with a check box; the order of checking is the team's order."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list = []  # objects with id, name, certificate_no
        self.checked: list[uuid.UUID] = []

    def set_rows(self, rows) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.checked = [i for i in self.checked if i in {r.id for r in self.rows}]
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def flags(self, index):
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.isValid() else base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{row.name}　执法证号 {row.certificate_no}"
        if role == Qt.ItemDataRole.CheckStateRole:
            return CHECKED if row.id in self.checked else UNCHECKED
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.CheckStateRole:
            return False
        person_id = self.rows[index.row()].id
        if value in (CHECKED, CHECKED.value) and person_id not in self.checked:
            self.checked.append(person_id)
        elif value not in (CHECKED, CHECKED.value) and person_id in self.checked:
            self.checked.remove(person_id)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


class WholeRowCheckDelegate(QStyledItemDelegate):
    """A tap anywhere on the row toggles its check box (touch screens, touchpads)."""

    def sizeHint(self, option, index):
        hint = super().sizeHint(option, index)
        hint.setHeight(max(hint.height(), ROW_HEIGHT))
        return hint

    def editorEvent(self, event, model, option, index) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease
                and event.button() == Qt.MouseButton.LeftButton
                and option.rect.contains(event.position().toPoint())):
            state = index.data(Qt.ItemDataRole.CheckStateRole)
            return model.setData(index, UNCHECKED if state == CHECKED else CHECKED,
                                 Qt.ItemDataRole.CheckStateRole)
        return super().editorEvent(event, model, option, index)


class NewInspectionDialog(QDialog):
    def __init__(self, store: Store, parent: QWidget | None = None,
                 enterprise_id: uuid.UUID | None = None, team: list[uuid.UUID] = (),
                 task_id: uuid.UUID | None = None) -> None:
        """`team` and `task_id` come from a 待检任务: its drawn team, checked in order."""
        super().__init__(parent)
        self.store = store
        self.task_id = task_id
        self.inspection_id: uuid.UUID | None = None
        self.enterprise: EnterpriseChoice | None = None
        self.setWindowTitle("新建检查")
        self.resize(1040, 640)
        # Bigger check boxes for fingers and touchpads.
        self.setStyleSheet("QCheckBox::indicator, QListView::indicator { width: 22px; height: 22px; }")
        title = QLabel("新建现场检查")
        title.setProperty("role", "title")
        columns = QHBoxLayout()
        columns.setSpacing(24)
        columns.addLayout(self._enterprise_column(), 5)
        columns.addLayout(self._details_column(), 6)
        self.problems = error_label()
        self.start_button = QPushButton("开始检查")
        self.start_button.setMinimumWidth(160)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        if task_id is not None:
            self.task_note = QLabel()
            self.task_note.setTextFormat(Qt.TextFormat.PlainText)  # names are record text
            self.task_note.setStyleSheet("color: #1565c0; font-weight: bold;")
            layout.addWidget(self.task_note)
        layout.addLayout(columns, 1)
        layout.addWidget(self.problems)
        layout.addLayout(button_row(self, self.start_button, self._start))
        self.team.checked = list(team)
        self._load(enterprise_id)
        if task_id is not None:
            names = {p.id: p.name for p in self.team.rows}
            drawn = "、".join(names[i] for i in self.team.checked)
            self.task_note.setText(f"执行待检任务：企业和执法人员（{drawn}）按任务预填；"
                                   "抽取的人员不在场时可更改")
        self._chain_tabs()

    def _chain_tabs(self) -> None:
        """Top to bottom, left column first; the check boxes are made after the buttons."""
        chain = [self.search, self.enterprise_view, self.team_view, self.place, self.when,
                 *self.checklist_boxes.values(), self.cancel_button, self.start_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def eventFilter(self, watched, event) -> bool:
        """In the search field, Enter picks the highlighted match (it must not start the
        inspection) and the Down arrow walks into the list."""
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.enterprises.rows and self.enterprise not in self.enterprises.rows:
                    self.enterprise_view.setCurrentIndex(self.enterprises.index(0))
                self.team_view.setFocus()
                return True
            if event.key() == Qt.Key.Key_Down and self.enterprises.rows:
                self.enterprise_view.setFocus()
                if not self.enterprise_view.currentIndex().isValid():
                    self.enterprise_view.setCurrentIndex(self.enterprises.index(0))
                return True
        return super().eventFilter(watched, event)

    def _enterprise_column(self) -> QVBoxLayout:
        self.search = QLineEdit(placeholderText="输入单位名称或统一社会信用代码查找")
        self.search.setClearButtonEnabled(True)
        self.search.textEdited.connect(self._filter)
        self.search.installEventFilter(self)
        self.enterprises = EnterpriseListModel(self)
        self.enterprise_view = QListView()
        self.enterprise_view.setModel(self.enterprises)
        self.enterprise_view.setSpacing(4)
        self.enterprise_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.enterprise_view.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._choose(current.row()))
        self.chosen = rich(QLabel())
        self.chosen.setWordWrap(True)
        column = QVBoxLayout()
        column.setSpacing(8)  # else inherited from the 24 px between the columns
        column.addWidget(_heading("被检查单位"))
        column.addWidget(self.search)
        column.addWidget(self.enterprise_view, 1)
        column.addWidget(self.chosen)
        return column

    def _details_column(self) -> QVBoxLayout:
        self.team = InspectorPickModel(self)
        self.team_view = QListView()
        self.team_view.setModel(self.team)
        self.team_view.setItemDelegate(WholeRowCheckDelegate(self.team_view))
        self.team_view.setMaximumHeight(4 * (ROW_HEIGHT + 2) + 8)
        self.place = QLineEdit(placeholderText="例如 木工车间、除尘器区域")
        self.when = on_agency_clock(QDateTimeEdit(calendarPopup=True, displayFormat="yyyy-MM-dd HH:mm"))
        self.when.setMaximumWidth(240)
        self.checklist_boxes: dict[str, QCheckBox] = {}
        self.checklist_column = QVBoxLayout()
        self.checklist_column.setSpacing(4)
        column = QVBoxLayout()
        column.setSpacing(8)
        column.addWidget(_heading("执法人员（至少选两名）"))
        column.addWidget(self.team_view)
        column.addLayout(form_grid([("检查场所", self.place), ("检查时间", self.when)]))
        column.addSpacing(8)
        column.addWidget(_heading("检查表（按企业涉及领域预选，可更改）"))
        column.addLayout(self.checklist_column)
        column.addStretch()
        return column

    def _load(self, enterprise_id: uuid.UUID | None) -> None:
        with self.store.session() as s:
            self._all_enterprises = enterprise_choices(s)
            self.team.set_rows(list_inspectors(s))
            checklists = checklist_choices(s)
        for c in checklists:
            box = QCheckBox(f"{c.title}（{c.item_count} 项）")
            box.setMinimumHeight(ROW_HEIGHT)
            self.checklist_boxes[c.code] = box
            self.checklist_column.addWidget(box)
        moment = self.store.clock() if self.store.clock else datetime.now(timezone.utc)
        self.when.setDateTime(to_qt(moment.replace(second=0, microsecond=0)))
        self.enterprises.set_rows(self._all_enterprises)
        self._show_choice(None)
        if not self._all_enterprises:
            self.chosen.setText("台账中还没有企业，请先在“企业台账”中登记。")
        preset = next((e for e in self._all_enterprises if e.id == enterprise_id), None)
        if preset is not None:
            self.search.setText(preset.name)
            self._filter(preset.name)
            self.team_view.setFocus()

    # The enterprise
    def _filter(self, text: str) -> None:
        rows = matching(self._all_enterprises, text)
        self.enterprises.set_rows(rows)
        exact = [n for n, r in enumerate(rows) if r.name == text.strip()]
        if len(rows) == 1 or exact:
            self.enterprise_view.setCurrentIndex(self.enterprises.index(exact[0] if exact else 0))
        elif self.enterprise in rows:  # still chosen: keep it highlighted
            self.enterprise_view.setCurrentIndex(self.enterprises.index(rows.index(self.enterprise)))
        else:
            self._show_choice(None)

    def _choose(self, row: int) -> None:
        if 0 <= row < len(self.enterprises.rows):
            chosen = self.enterprises.rows[row]
            if chosen != self.enterprise:
                for code, box in self.checklist_boxes.items():
                    box.setChecked(code in chosen.checklist_codes)
            self._show_choice(chosen)

    def _show_choice(self, chosen: EnterpriseChoice | None) -> None:
        self.enterprise = chosen
        self.chosen.setText(f"已选：<b>{html.escape(chosen.name)}</b>" if chosen else "尚未选择：请在上方列表中点选")

    # Starting
    def chosen_checklists(self) -> list[str]:
        return [code for code, box in self.checklist_boxes.items() if box.isChecked()]

    def _start(self) -> None:
        team = list(self.team.checked)
        names = {p.id: p.name for p in self.team.rows}
        spec = NewInspection(
            enterprise_id=self.enterprise.id if self.enterprise else NO_ENTERPRISE,
            inspector_ids=team, place=self.place.text(),
            started_at=from_qt(self.when.dateTime()),
            checklist_codes=self.chosen_checklists(), task_id=self.task_id)
        try:
            with self.store.transaction(label="start_inspection",
                                        actor="、".join(names[i] for i in team)) as s:
                new_id = start_inspection(s, spec).id
        except ValidationError as exc:
            show_problems(self.problems, exc.problems or [exc.message])
            return
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        self.inspection_id = new_id  # only once committed
        self.accept()


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("font-weight: bold;")
    return label
