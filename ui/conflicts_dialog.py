"""导入冲突: the two versions of a finalized record, side by side.

An import keeps the local finalized record and sets the bundle's different version aside
(sync.merge). This dialog shows both so the inspector can see what differs and decide
whether a correction (更正) is needed. It reads nothing itself: sync.conflicts does (given the store, it also names the records the
linked columns point at — 企业, 所属检查, 检查项 … — instead of showing bare ids).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QHBoxLayout, QHeaderView,
                               QLabel, QListWidget, QListWidgetItem, QPushButton, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from models.local_time import agency_text
from sync.conflicts import KIND_DOCUMENT_FILE, Conflict, FieldRow, list_conflicts
from ui.style import AMBER, GREY, RED

EXPLANATION = ("以下记录在本机已经定稿。导入时本机的版本保持不变（保留）；导出包里与之不同的版本"
               "没有采用，只是另存在本机以便核对。如果核对后认为导入的版本才是正确的，"
               "请在本机另做一条更正记录（更正），不要改动已定稿的记录。")
HEADERS = ("字段", "本机版本（保留）", "导入版本（另存，未采用）")
DIFF_BACKGROUND = "#fff1b8"   # light yellow: this field differs between the two versions
DIFF_TEXT = "#000000"
ROW_HEIGHT = 32


class ConflictsDialog(QDialog):
    """Left: the conflicts (newest import first); right: the chosen one's two versions."""

    COL_FIELD, COL_LOCAL, COL_INCOMING = range(3)

    def __init__(self, data_dir: Path, parent: QWidget | None = None,
                 bundle_id: str | None = None, *, store=None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        if store is None:
            self.conflicts: list[Conflict] = list_conflicts(self.data_dir, bundle_id)
        else:
            with store.session() as session:
                self.conflicts = list_conflicts(self.data_dir, bundle_id, session=session)
        self.setWindowTitle("导入冲突")
        self.resize(1220, 700)

        self.explanation = QLabel(EXPLANATION)
        self.explanation.setWordWrap(True)
        self.explanation.setStyleSheet("font-size: 13pt; padding: 6px; background: #e3f2fd;"
                                       " border-radius: 4px;")
        self.empty_label = QLabel("没有导入冲突")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("font-size: 18pt; font-weight: bold;")
        empty_hint = QLabel("导入的记录都已合并，没有需要核对的不同版本。")
        empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_hint.setStyleSheet(f"color: {GREY};")
        empty_page = QWidget()
        empty_layout = QVBoxLayout(empty_page)
        empty_layout.addStretch()
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(empty_hint)
        empty_layout.addStretch()

        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setSpacing(2)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setStyleSheet(
            "QListWidget::item { padding: 6px; border-bottom: 1px solid #ddd; }"
            " QListWidget::item:selected { background: #1565c0; color: white; }")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 14pt; font-weight: bold;")
        self.meta = QLabel()
        self.meta.setWordWrap(True)
        self.meta.setStyleSheet(f"color: {GREY};")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.only_differences = QCheckBox("只显示不同的字段")
        self.only_differences.setChecked(True)
        self.table = _comparison_table()
        self.open_local = QPushButton("打开本机文书")
        self.open_incoming = QPushButton("打开导入文书")
        documents = QHBoxLayout()
        documents.addWidget(self.open_local)
        documents.addWidget(self.open_incoming)
        documents.addStretch()
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.meta)
        right_layout.addWidget(self.note)
        right_layout.addWidget(self.only_differences)
        right_layout.addWidget(self.table, 1)
        right_layout.addLayout(documents)
        right_layout.addStretch()  # takes the space when the table is hidden (unreadable file)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.list)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([400, 800])

        self.pages = QStackedWidget()
        self.pages.addWidget(empty_page)
        self.pages.addWidget(splitter)

        self.folder_button = QPushButton("打开所在文件夹")
        self.close_button = QPushButton("关闭")
        self.close_button.setProperty("role", "primary")
        buttons = QHBoxLayout()
        buttons.addWidget(self.folder_button)
        buttons.addStretch()
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.pages, 1)
        layout.addLayout(buttons)

        self.list.currentRowChanged.connect(self._show)
        self.only_differences.toggled.connect(lambda _on: self._fill_table())
        self.folder_button.clicked.connect(self.open_folder)
        self.open_local.clicked.connect(lambda: self._open(self.document_urls()[0]))
        self.open_incoming.clicked.connect(lambda: self._open(self.document_urls()[1]))
        self.close_button.clicked.connect(self.accept)
        self.table.horizontalHeader().sectionResized.connect(lambda *_: self._fit_rows())

        for conflict in self.conflicts:
            item = QListWidgetItem(_list_text(conflict))
            item.setToolTip(f"导出包 {conflict.bundle_id}\n{conflict.path}")
            if conflict.problem:
                item.setForeground(QColor(RED))
            self.list.addItem(item)
        has_any = bool(self.conflicts)
        self.pages.setCurrentIndex(1 if has_any else 0)
        self.explanation.setVisible(has_any)
        self.folder_button.setVisible(has_any)
        if has_any:
            self.list.setCurrentRow(0)
        else:
            self.resize(560, 260)

    # ----------------------------------------------------------------- what is shown
    def current(self) -> Conflict | None:
        row = self.list.currentRow()
        return self.conflicts[row] if 0 <= row < len(self.conflicts) else None

    def _show(self, _row: int) -> None:
        conflict = self.current()
        if conflict is None:
            return
        self.title.setText(f"{conflict.table_label}：{conflict.description}")
        self.meta.setText(_meta_text(conflict))
        note, colour = _note_of(conflict)
        self.note.setText(note)
        self.note.setStyleSheet(f"color: {colour}; font-weight: bold;")
        self.note.setVisible(bool(note))
        readable = not conflict.problem
        self.only_differences.setVisible(readable)
        self.table.setVisible(readable)
        is_file = conflict.kind == KIND_DOCUMENT_FILE
        self.open_local.setVisible(is_file)
        self.open_incoming.setVisible(is_file)
        if is_file:
            self.open_local.setEnabled(bool(conflict.local_path and conflict.local_path.is_file()))
        self._fill_table()

    def shown_rows(self) -> list[FieldRow]:
        """The comparison rows the table shows now (the filter applied)."""
        conflict = self.current()
        rows = conflict.fields() if conflict is not None else []
        if self.only_differences.isChecked():
            rows = [r for r in rows if r.differs]
        return rows

    def _fill_table(self) -> None:
        rows = self.shown_rows()
        conflict = self.current()
        absent = conflict is not None and conflict.local_missing
        self.table.setRowCount(len(rows))
        for n, row in enumerate(rows):
            texts = (row.label, row.local, row.incoming)
            ids = ("", row.local_id, row.incoming_id)
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                tip = f"{row.label}（{row.column}）" if col == self.COL_FIELD else text
                if ids[col] and ids[col] not in text:
                    tip += f"\n记录编号：{ids[col]}"
                item.setToolTip(tip)
                if row.differs:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                    item.setBackground(QColor(DIFF_BACKGROUND))
                    item.setForeground(QColor(DIFF_TEXT))
                if col == self.COL_LOCAL and absent:
                    item.setForeground(QColor(GREY))
                self.table.setItem(n, col, item)
        self._fit_rows()

    def _fit_rows(self) -> None:
        """Rows as tall as their wrapped text, with air: read at arm's length on site."""
        self.table.resizeRowsToContents()
        for n in range(self.table.rowCount()):
            self.table.setRowHeight(n, max(self.table.rowHeight(n) + 8, ROW_HEIGHT))

    # ----------------------------------------------------------------- files
    def folder_url(self) -> QUrl | None:
        """The folder holding the chosen conflict's file, as 「打开所在文件夹」 opens it."""
        conflict = self.current()
        return QUrl.fromLocalFile(str(conflict.folder)) if conflict is not None else None

    def document_urls(self) -> tuple[QUrl | None, QUrl | None]:
        """(the kept local PDF, the imported PDF) of a document-file conflict."""
        conflict = self.current()
        if conflict is None or conflict.kind != KIND_DOCUMENT_FILE:
            return None, None
        local = conflict.local_path
        return (QUrl.fromLocalFile(str(local)) if local and local.is_file() else None,
                QUrl.fromLocalFile(str(conflict.path)))

    def open_folder(self) -> None:
        self._open(self.folder_url())

    @staticmethod
    def _open(url: QUrl | None) -> None:
        if url is not None:
            QDesktopServices.openUrl(url)


def _comparison_table() -> QTableWidget:
    table = QTableWidget(0, len(HEADERS))
    table.setHorizontalHeaderLabels(list(HEADERS))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setWordWrap(True)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)
    # Air around the text, so a long label (重大隐患判定条款) does not touch the grid lines.
    table.setStyleSheet("QTableWidget::item { padding: 2px 8px; }")
    header = table.horizontalHeader()
    header.setSectionResizeMode(ConflictsDialog.COL_FIELD, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(ConflictsDialog.COL_LOCAL, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(ConflictsDialog.COL_INCOMING, QHeaderView.ResizeMode.Stretch)
    return table


def _list_text(c: Conflict) -> str:
    return f"{c.table_label}：{c.description}\n{_source_text(c)} · {agency_text(c.saved_at)}"


def _source_text(c: Conflict) -> str:
    return f"来自设备 {c.from_device[:8]}" if c.from_device else "来源设备不明"


def _meta_text(c: Conflict) -> str:
    return (f"{_source_text(c)} · 导出包 {c.bundle_id[:8]} · "
            f"另存于 {agency_text(c.saved_at)}")


def _note_of(c: Conflict) -> tuple[str, str]:
    """A line above the table for the cases the table alone would not explain."""
    if c.problem:
        return f"{c.problem}。文件位置：{c.path}", RED
    if c.local_missing:
        return ("本机没有这条记录：它属于本机已定稿的检查，导入时没有加入，只另存于此。", AMBER)
    if c.kind == KIND_DOCUMENT_FILE:
        return ("同名文书的内容不同：本机文件保持不变，导入的文件另存。可分别打开两份 PDF 核对。", AMBER)
    return "", GREY
