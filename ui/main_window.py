"""The main window: a navigation column on the left, the current page on the right."""
from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QHBoxLayout, QLabel, QMainWindow, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

if TYPE_CHECKING:  # the window shows before SQLAlchemy is imported
    from models.store import Store

MIN_SIZE = (1280, 700)  # fits a 1366×768 laptop with the task bar


class MainWindow(QMainWindow):
    """Owns navigation; pages call back into it to move the user along."""

    inspection_opened = Signal(object)  # inspection id

    def __init__(self, store: Store | None = None) -> None:
        super().__init__()
        self.store = store
        self.setWindowTitle("工贸安全现场检查 FieldCheck")
        self.setMinimumSize(1000, 640)
        self.resize(*MIN_SIZE)
        self.stack = QStackedWidget()
        self._pages: dict[str, QWidget] = {}
        self._nav = QButtonGroup(self)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._build_nav())
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        if store is None:
            self._loading = QLabel("正在打开数据……")
            self._loading.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.stack.addWidget(self._loading)
            self._nav_column.setEnabled(False)
        else:
            self.attach_store(store)

    def attach_store(self, store: Store) -> None:
        """Show the data once the store is open (the window itself shows earlier)."""
        self.store = store
        self._nav_column.setEnabled(True)
        # 执法计划 is the office's work; a laptop receives its tasks (待检任务) only.
        self.findChild(QPushButton, "nav_plan").setVisible(self.is_office())
        self.statusBar().showMessage(f"数据文件夹：{store.data_dir}")
        # The office's own page (交办, statistics, 通报) likewise.
        self.findChild(QPushButton, "nav_office").setVisible(self.is_office())
        self.show_inspections()

    def _build_nav(self) -> QWidget:
        column = QWidget()
        column.setFixedWidth(190)
        self._nav_column = column
        column.setObjectName("navColumn")
        column.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        # An id selector: a bare rule would repaint every button in the column too.
        column.setStyleSheet("#navColumn { background: #eceff1; }")
        layout = QVBoxLayout(column)
        title = QLabel("工贸安全\n现场检查")
        title.setProperty("role", "title")
        layout.addWidget(title)
        for key, text, slot in (("inspections", "检查", self.show_inspections),
                                ("enterprises", "企业台账", self.show_enterprises),
                                ("ledger", "隐患台账", self.show_ledger),
                                ("office", "办公室", self.show_office),
                                ("tasks", "待检任务", self.show_tasks),
                                ("plan", "执法计划", self.show_plan),
                                ("settings", "设置", self.show_settings)):
            button = QPushButton(text)
            button.setProperty("role", "nav")
            button.setCheckable(True)
            button.setObjectName(f"nav_{key}")
            button.clicked.connect(slot)
            self._nav.addButton(button)
            layout.addWidget(button)
            button.setVisible(key != "office")  # attach_store shows it at the office
        new = QPushButton("＋ 新建检查")
        new.setObjectName("nav_new_inspection")
        new.setProperty("role", "primary")
        new.setMinimumHeight(52)
        new.clicked.connect(lambda: self.new_inspection())
        layout.addSpacing(12)
        layout.addWidget(new)
        layout.addStretch()
        for key, text, slot in (("export", "导出到U盘…", self.export_bundle),
                                ("import", "从U盘导入…", self.import_bundle),
                                ("conflicts", "导入冲突…", self.show_conflicts)):
            button = QPushButton(text)
            button.setObjectName(f"nav_{key}")
            button.clicked.connect(slot)
            layout.addWidget(button)
        return column

    def _check_nav(self, key: str) -> None:
        button = self.findChild(QPushButton, f"nav_{key}")
        if button is not None:
            button.setChecked(True)

    def _show(self, key: str, factory) -> QWidget:
        self._save_current()  # what was typed on the page being left goes to disk first
        page = self._pages.get(key)
        if page is None:
            page = factory()
            self._pages[key] = page
            self.stack.addWidget(page)
        elif hasattr(page, "refresh"):
            page.refresh()
        self.stack.setCurrentWidget(page)
        return page

    def _save_current(self) -> None:
        current = self.stack.currentWidget()
        if hasattr(current, "save_pending"):
            current.save_pending()

    def _close_page(self, key: str) -> None:
        page = self._pages.pop(key, None)
        if page is not None:
            _finish(page)
            self.stack.removeWidget(page)
            page.deleteLater()

    def save_pending(self) -> None:
        """Every page writes what is still waiting for its typing pause and ends its
        background work (close, quit: before the store closes)."""
        for page in list(self._pages.values()):
            _finish(page)

    def closeEvent(self, event) -> None:
        self.save_pending()
        super().closeEvent(event)

    # Navigation — pages call these.
    def show_inspections(self) -> None:
        from ui.inspections_page import InspectionsPage
        self._check_nav("inspections")
        self._show("inspections", lambda: InspectionsPage(self.store, self))

    def show_enterprises(self) -> None:
        from ui.enterprise_page import EnterprisePage
        self._check_nav("enterprises")
        self._show("enterprises", lambda: EnterprisePage(self.store, self))

    def show_ledger(self, due_only: bool = False) -> None:
        from models.ledger import DUE, OVERDUE, LedgerFilter
        from ui.ledger_page import LedgerPage
        self._check_nav("ledger")
        from ui.ledger_page import OPEN_STATUSES
        page = self._show("ledger", lambda: LedgerPage(self.store, self))
        # From the due reminder: what is due; from the navigation: every open hazard again
        # (a due-only filter must not stay and hide the hazards just ordered).
        page.apply_filter(LedgerFilter(statuses=frozenset({DUE, OVERDUE}) if due_only
                                       else OPEN_STATUSES))

    def show_office(self) -> None:
        from ui.office_page import OfficePage
        self._check_nav("office")
        self._show("office", lambda: OfficePage(self.store, self))

    def open_reinspection(self, original_id=None, enterprise_id=None, reinspection_id=None) -> None:
        from ui.reinspection_page import ReinspectionPage
        self._close_page("reinspection")
        self._show("reinspection", lambda: ReinspectionPage(
            self.store, self, original_id=original_id, enterprise_id=enterprise_id,
            reinspection_id=reinspection_id))
        self._uncheck_nav()

    def export_bundle(self) -> None:
        self._save_current()
        from ui.sync_dialogs import ExportDialog
        ExportDialog(self.store, self).exec()

    def import_bundle(self) -> None:
        self._save_current()
        from ui.sync_dialogs import ImportDialog
        dialog = ImportDialog(self.store, self)
        dialog.finished_work.connect(lambda ok: ok and self._refresh_pages())
        dialog.exec()

    def show_conflicts(self) -> None:
        """Every import's conflicts, kept side by side: the local finalized version and the
        imported one that was not applied."""
        from ui.conflicts_dialog import ConflictsDialog
        ConflictsDialog(self.store.data_dir, self, store=self.store).exec()

    def _refresh_pages(self) -> None:
        for page in self._pages.values():
            if hasattr(page, "refresh"):
                page.refresh()

    def show_settings(self) -> None:
        self._save_current()
        from ui.settings_dialog import SettingsDialog
        SettingsDialog(self.store, self).exec()
        self._check_nav("inspections")

    def new_inspection(self, enterprise_id: uuid.UUID | None = None, team=(), task_id=None) -> None:
        from ui.new_inspection_dialog import NewInspectionDialog
        dialog = NewInspectionDialog(self.store, self, enterprise_id=enterprise_id, team=team,
                                     task_id=task_id)
        if dialog.exec() and dialog.inspection_id is not None:
            self.open_inspection(dialog.inspection_id)

    # 计划执法 (#15)
    def show_tasks(self) -> None:
        from ui.tasks_panel import TasksPanel
        self._check_nav("tasks")
        self._show("tasks", lambda: TasksPanel(self.store, self))

    def is_office(self) -> bool:
        from models.store_mode import is_office_store
        return self.store is not None and is_office_store(self.store.data_dir, self.store.backend)

    def show_plan(self) -> None:
        from ui.plan_page import PlanPage
        if not self.is_office():
            return
        self._check_nav("plan")
        self._show("plan", lambda: PlanPage(self.store, self))

    def start_task(self, task) -> None:
        """开始检查 on a 待检任务: 新建检查 with its enterprise, team and checklists."""
        self.new_inspection(task.enterprise_id, team=task.inspector_ids, task_id=task.id)

    def open_inspection(self, inspection_id: uuid.UUID, item_id: uuid.UUID | None = None) -> None:
        from models.inspection import InspectionKind
        from models.inspection_rules import get_inspection
        from ui.walk_page import WalkPage
        with self.store.session() as s:
            if get_inspection(s, inspection_id).kind == InspectionKind.REINSPECTION:
                self.open_reinspection(reinspection_id=inspection_id)
                return
        self._close_page("walk")
        page = self._show("walk", lambda: WalkPage(self.store, inspection_id, self))
        if item_id is not None:
            page.go_to_item(item_id)
        self._uncheck_nav()
        self.inspection_opened.emit(inspection_id)

    def _uncheck_nav(self) -> None:
        self._nav.setExclusive(False)
        for b in self._nav.buttons():
            b.setChecked(False)
        self._nav.setExclusive(True)


def _finish(page) -> None:
    """A page about to go: what it still has to save, then its background work ended."""
    if hasattr(page, "save_pending"):
        page.save_pending()
    if hasattr(page, "wait_for_workers"):
        page.wait_for_workers()
