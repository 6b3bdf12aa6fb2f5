"""Re-inspection (复查): pick the order and the team, record each hazard, finish, get the opinion."""
from __future__ import annotations

import uuid
from dataclasses import replace
from html import escape
from pathlib import Path

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDateEdit, QDateTimeEdit,
                               QFileDialog, QFormLayout, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QRadioButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from models.base import utcnow
from models.errors import FieldCheckError, ValidationError
from models.inspection import Inspection
from models.inspection_rules import get_inspection
from models.local_time import agency_date, agency_text
from models.reinspection_rules import (ReviewRow, add_after_photo, close_evidence_problem,
                                       default_new_deadline, finalize_reinspection,
                                       open_reinspection, record_review, reinspection_blockers,
                                       reinspection_candidates, reinspection_header,
                                       reinspection_outcome, review_rows, start_reinspection)
from models.settings_rules import list_inspectors
from ui.agency_clock import from_qt, on_agency_clock, to_qt
from ui.delayed_save import DelayedSave, SaveStateLabel
from ui.ledger_models import _RowsModel
from ui.messages import confirm, show_error
from ui.style import GREEN, GREY, RED
from ui.tables import make_table

PHOTO_FILTER = "照片 (*.jpg *.jpeg *.png *.webp *.tif *.tiff)"


class ReviewTableModel(_RowsModel):
    COL_NUMBER, COL_HAZARD, COL_DEADLINE, COL_RESULT, COL_PHOTOS = range(5)
    HEADERS = ("序号", "隐患", "整改期限", "复查结论", "照片")

    def cell(self, row: ReviewRow, col: int, role: int):
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(row, col)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.COL_RESULT:
            return QColor({True: GREEN, False: RED, None: GREY}[row.rectified])
        if role == Qt.ItemDataRole.ToolTipRole and col == self.COL_HAZARD:
            return row.description
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.UserRole and index.isValid() and index.row() < len(self.rows):
            return self.rows[index.row()].hazard_id
        return super().data(index, role)

    def text(self, row: ReviewRow, col: int) -> str:
        if col == self.COL_RESULT:
            if row.rectified is None:
                return "待确定"
            if row.rectified:
                return "已整改"
            if row.escalated:
                return "未整改 · 移交处罚"
            return f"未整改 · 限期至 {row.new_deadline}" if row.new_deadline else "未整改"
        number = self.rows.index(row) + 1
        return (str(number), f"{'【重大】' if row.is_major else ''}{row.item_code} {row.description}",
                row.deadline.isoformat(), "", str(row.photos) if row.photos else "")[col]


class ReinspectionPage(QWidget):
    """Start from an enterprise (`enterprise_id`) or from the ledger (`original_id`)."""

    finished = Signal(object)  # the re-inspection id, once finalized

    def __init__(self, store, main_window, *, original_id: uuid.UUID | None = None,
                 enterprise_id: uuid.UUID | None = None,
                 reinspection_id: uuid.UUID | None = None) -> None:
        super().__init__()
        self.store, self.main_window = store, main_window
        self.reinspection_id = reinspection_id
        self.rows: list[ReviewRow] = []
        self._note_hazard: uuid.UUID | None = None  # whose note the editor holds
        self._showing = False
        self.finalized = False
        with store.session() as s:
            if reinspection_id is None and original_id is not None:
                found = open_reinspection(s, original_id)
                self.reinspection_id = found.id if found else None
            if enterprise_id is None and original_id is not None:
                enterprise_id = s.get(Inspection, original_id).enterprise_id
        self.enterprise_id, self.original_id = enterprise_id, original_id
        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_start())
        self.stack.addWidget(self._build_review())
        title = QLabel("复查")
        title.setProperty("role", "title")
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addSpacing(12)
        top.addWidget(self.header, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.refresh()

    # ------------------------------------------------------------------ start
    def _build_start(self) -> QWidget:
        self.order = QComboBox()
        self.order.setMinimumWidth(520)
        self.inspectors = QListWidget()
        self.inspectors.setMaximumHeight(200)
        self.started_at = on_agency_clock(QDateTimeEdit())
        self.started_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.started_at.setCalendarPopup(True)
        self.place = QPlainTextEdit()
        self.place.setFixedHeight(44)
        self.place.setPlaceholderText("复查场所（默认与原检查相同）")
        self.start_button = QPushButton("开始复查(&S)")
        self.start_button.setProperty("role", "primary")
        self.start_button.setMinimumHeight(44)
        self.start_button.clicked.connect(self.start)
        self.start_hint = QLabel()
        self.start_hint.setStyleSheet(f"color: {GREY};")
        form = QFormLayout()
        form.addRow("整改指令：", self.order)
        form.addRow("执法人员（至少两名）：", self.inspectors)
        form.addRow("复查时间：", self.started_at)
        form.addRow("复查场所：", self.place)
        box = QWidget()
        column = QVBoxLayout(box)
        column.addLayout(form)
        column.addWidget(self.start_hint)
        row = QHBoxLayout()
        row.addStretch()
        row.addWidget(self.start_button)
        column.addLayout(row)
        column.addStretch()
        return box

    def _fill_start(self) -> None:
        with self.store.session() as s:
            choices = reinspection_candidates(s, self.enterprise_id) if self.enterprise_id else []
            people = [(p.id, p.name, p.certificate_no) for p in list_inspectors(s)]
        self.order.clear()
        for c in choices:
            when = agency_text(c.started_at, "%Y-%m-%d")
            self.order.addItem(f"{when} 检查 · 第 {c.case_serial} 号（{c.case_year}）· 待复查隐患 "
                               f"{c.hazards} 项 · {c.place}", c.inspection_id)
        if self.original_id is not None:
            self.order.setCurrentIndex(max(0, self.order.findData(self.original_id)))
        self.inspectors.clear()
        for n, (pid, name, cert) in enumerate(people):
            item = QListWidgetItem(f"{name}（执法证号 {cert or '未填'}）")
            item.setData(Qt.ItemDataRole.UserRole, pid)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if n < 2 else Qt.CheckState.Unchecked)
            self.inspectors.addItem(item)
        self.started_at.setDateTime(to_qt((self.store.clock or utcnow)()))
        self.start_button.setEnabled(bool(choices))
        self.start_hint.setText("" if choices else "该企业没有待复查的整改指令")
        self.header.setText("选择要复查的整改指令和执法人员")

    def chosen_inspectors(self) -> list[uuid.UUID]:
        return [self.inspectors.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.inspectors.count())
                if self.inspectors.item(i).checkState() == Qt.CheckState.Checked]

    def start(self) -> None:
        original = self.order.currentData()
        if original is None:
            return
        started = from_qt(self.started_at.dateTime())
        try:
            with self.store.transaction(label="开始复查") as s:
                self.reinspection_id = start_reinspection(
                    s, original, self.chosen_inspectors(), started,
                    self.place.toPlainText()).id
        except FieldCheckError as exc:
            show_error(self, exc, "无法开始复查")
            return
        self.refresh()

    # ------------------------------------------------------------------ review
    def _build_review(self) -> QWidget:
        self.model = ReviewTableModel(self)
        table = make_table(self.model, ReviewTableModel.COL_HAZARD)
        table.selectionModel().selectionChanged.connect(lambda *_: self._show_selected())
        self.table = table
        body = QHBoxLayout()
        body.addWidget(table, 3)
        body.addWidget(self._build_editor(), 2)
        self.blockers = QLabel()
        self.blockers.setWordWrap(True)
        self.blockers.setStyleSheet(f"color: {GREY};")
        self.finish_button = QPushButton("完成复查(&F)")
        self.finish_button.setProperty("role", "primary")
        self.finish_button.setMinimumHeight(44)
        self.finish_button.clicked.connect(self.finish)
        bottom = QHBoxLayout()
        bottom.addWidget(self.blockers, 1)
        bottom.addWidget(self.finish_button)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(body, 1)
        column.addLayout(bottom)
        self.documents_box = column  # the signed opinion panel joins once the re-inspection exists
        self.documents = None
        return box

    def _build_editor(self) -> QWidget:
        self.hazard_text = QLabel()
        self.hazard_text.setWordWrap(True)
        self.hazard_text.setTextFormat(Qt.TextFormat.RichText)
        self.rectified = QRadioButton("已整改（销号）")
        self.not_rectified = QRadioButton("未整改")
        self.verdict = QButtonGroup(self)
        self.verdict.addButton(self.rectified)
        self.verdict.addButton(self.not_rectified)
        self.verdict.buttonClicked.connect(lambda _b: self._save_verdict())
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("复查情况（现场看到的整改情况、佐证材料）")
        self.note.setFixedHeight(80)
        self.note.setTabChangesFocus(True)
        self.note_save = DelayedSave(self._write_note, self, now=self.store.clock or utcnow)
        self.note_save.flush_on_focus_out(self.note)
        self.note.textChanged.connect(self._note_changed)
        self.save_state = SaveStateLabel(self.note_save)
        self.new_deadline = QDateEdit()
        self.new_deadline.setCalendarPopup(True)
        self.new_deadline.setDisplayFormat("yyyy-MM-dd")
        self.new_deadline.dateChanged.connect(lambda _d: self._save_verdict())
        self.escalate = QCheckBox("移交行政处罚（不再限期）")
        self.escalate.toggled.connect(lambda _on: self._save_verdict())
        self.photo_button = QPushButton("添加整改后照片…")
        self.photo_button.clicked.connect(self._pick_photos)
        self.photo_label = QLabel()
        self.evidence_hint = QLabel()  # 销号 needs an after photo or a note (models rule)
        self.evidence_hint.setWordWrap(True)
        self.evidence_hint.setProperty("role", "fieldError")
        outcome = QFormLayout()
        outcome.addRow("新的整改期限：", self.new_deadline)
        outcome.addRow("", self.escalate)
        self.outcome_box = QWidget()
        self.outcome_box.setLayout(outcome)
        verdicts = QHBoxLayout()
        verdicts.addWidget(self.rectified)
        verdicts.addWidget(self.not_rectified)
        verdicts.addStretch()
        photos = QHBoxLayout()
        photos.addWidget(self.photo_button)
        photos.addWidget(self.photo_label, 1)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(8, 0, 0, 0)
        column.addWidget(self.hazard_text)
        column.addLayout(verdicts)
        column.addWidget(self.evidence_hint)
        column.addWidget(self.note)
        column.addWidget(self.save_state)
        column.addWidget(self.outcome_box)
        column.addLayout(photos)
        column.addStretch()
        return box

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        if self.reinspection_id is None:
            self._fill_start()
            self.stack.setCurrentIndex(0)
            return
        self.stack.setCurrentIndex(1)
        keep = self.selected_hazard()
        with self.store.session() as s:
            head = reinspection_header(s, self.reinspection_id)
            self.rows = review_rows(s, self.reinspection_id)
            blockers = reinspection_blockers(s, s.get(Inspection, self.reinspection_id))
        self.finalized = head.finalized
        state = "已完成" if head.finalized else "进行中"
        self.header.setText(
            f"<b>{escape(head.enterprise)}</b>　整改指令 {escape(head.order_number)}"
            f"（{head.order_date.isoformat()}）　执法人员 {escape('、'.join(head.team))}　"
            f"<span style='color:{GREEN if head.finalized else '#1565c0'}'>{state}</span>")
        self.model.set_rows(self.rows)
        self._select(keep if keep in [r.hazard_id for r in self.rows] else
                     (self.rows[0].hazard_id if self.rows else None))
        self._show_blockers(blockers)
        self._show_documents(head.finalized)

    def _show_blockers(self, blockers: list[str] | None = None) -> None:
        if blockers is None:
            with self.store.session() as s:
                blockers = reinspection_blockers(s, s.get(Inspection, self.reinspection_id))
        self.blockers.setText("可以完成复查" if not blockers and not self.finalized else
                              ("复查已完成，请在下方签署整改复查意见书" if self.finalized
                               else "尚需：" + "；".join(blockers[:3])
                               + ("……" if len(blockers) > 3 else "")))
        # Enabled while in progress: a note typed a moment ago is saved by the click itself,
        # and what still blocks is then said in full.
        self.finish_button.setEnabled(not self.finalized)

    def _show_documents(self, finalized: bool) -> None:
        """After finishing: sign and issue the 整改复查意见书 like the other documents."""
        if finalized and self.documents is None and self.reinspection_id is not None:
            from ui.documents_panel import DocumentsPanel
            with self.store.session() as s:
                actor = "、".join(m.inspector.name for m in get_inspection(s, self.reinspection_id).team)
            self.documents = DocumentsPanel(self.store, self.reinspection_id, actor, self)
            self.documents_box.addWidget(self.documents)
        if self.documents is not None:
            self.documents.refresh()

    def selected_hazard(self) -> uuid.UUID | None:
        rows = self.table.selectionModel().selectedRows() if hasattr(self, "table") else []
        return self.rows[rows[0].row()].hazard_id if rows and rows[0].row() < len(self.rows) else None

    def _select(self, hazard_id) -> None:
        for n, row in enumerate(self.rows):
            if row.hazard_id == hazard_id:
                self.table.selectRow(n)
        self._show_selected()

    def _current(self) -> ReviewRow | None:
        hazard_id = self.selected_hazard()
        return next((r for r in self.rows if r.hazard_id == hazard_id), None)

    def _show_selected(self) -> None:
        row = self._current()
        if row is not None and row.hazard_id != self._note_hazard:
            if self.note_save.flush():  # the note typed for the hazard shown before
                self.note_save.reset()  # (a failure stays told next to the note)
        self._showing = True
        try:
            editable = row is not None and not self.finalized
            for w in (self.rectified, self.not_rectified, self.note, self.new_deadline,
                      self.escalate, self.photo_button):
                w.setEnabled(editable)
            if row is None:
                self.hazard_text.setText("")
                return
            major = "<span style='color:#c62828'>【重大隐患】</span>" if row.is_major else ""
            self.hazard_text.setText(
                f"{major}<b>{escape(row.item_code)}</b> {escape(row.description)}"
                f"<br>整改要求：{escape(row.rectification)}<br>整改期限：{row.deadline}")
            self.verdict.setExclusive(False)
            self.rectified.setChecked(row.rectified is True)
            self.not_rectified.setChecked(row.rectified is False)
            self.verdict.setExclusive(True)
            if row.hazard_id != self._note_hazard:  # never under the cursor of the typist
                self.note.setPlainText(row.note)
                self._note_hazard = row.hazard_id
            default = default_new_deadline(row.deadline, agency_date((self.store.clock or utcnow)()))
            self.new_deadline.setMinimumDate(QDate(row.deadline))  # never before the one in force
            self.new_deadline.setDate(QDate(row.new_deadline or default))
            self.escalate.setChecked(row.escalated)
            self.outcome_box.setVisible(row.rectified is False)
            self.new_deadline.setEnabled(editable and not row.escalated)
            self.photo_label.setText(f"已有 {row.photos} 张" if row.photos else "尚无整改后照片")
            self._show_evidence_hint(row)
        finally:
            self._showing = False

    # ------------------------------------------------------------------ edits
    def _note_changed(self) -> None:
        if not self._showing:
            self.note_save.touch()

    def save_pending(self) -> None:
        """Write a note still waiting for the typing pause (leaving, finishing, closing)."""
        self.note_save.flush()

    def _show_evidence_hint(self, row: ReviewRow) -> None:
        problem = close_evidence_problem("本项", self.note.toPlainText(), row.photos) \
            if row.rectified else None
        self.evidence_hint.setText(problem or "")
        self.evidence_hint.setVisible(bool(problem))

    def _write_note(self) -> None:
        row = next((r for r in self.rows if r.hazard_id == self._note_hazard), None)
        if row is None or self.finalized:
            return
        with self.store.transaction(label="复查") as s:
            record_review(s, self.reinspection_id, row.hazard_id, rectified=row.rectified,
                          note=self.note.toPlainText(), new_deadline=row.new_deadline,
                          escalated=row.escalated)
        # Only the facts change: the table keeps its selection, the editor its cursor.
        self.rows = [replace(r, note=self.note.toPlainText().strip())
                     if r.hazard_id == row.hazard_id else r for r in self.rows]
        self._show_blockers()
        if self._current() is not None and self._current().hazard_id == row.hazard_id:
            self._show_evidence_hint(self._current())

    def _save_verdict(self) -> None:
        row = self._current()
        if self._showing or row is None or self.finalized:
            return
        if not (self.rectified.isChecked() or self.not_rectified.isChecked()):
            return
        ok = self.rectified.isChecked()
        escalated = (not ok) and self.escalate.isChecked()
        deadline = None if ok or escalated else self.new_deadline.date().toPython()
        self._record(row, rectified=ok, note=self.note.toPlainText(), new_deadline=deadline,
                     escalated=escalated)

    def _record(self, row: ReviewRow, **values) -> None:
        try:
            with self.store.transaction(label="复查") as s:
                record_review(s, self.reinspection_id, row.hazard_id, **values)
        except FieldCheckError as exc:
            show_error(self, exc)
        else:
            self.note_save.mark_saved()  # the verdict, its deadline and the note are on disk
        self.refresh()

    def _pick_photos(self) -> None:
        paths, _f = QFileDialog.getOpenFileNames(self, "添加整改后照片", str(Path.home()),
                                                 PHOTO_FILTER)
        self.add_photo_files([Path(p) for p in paths])

    def add_photo_files(self, paths: list[Path]) -> int:
        """Attach "after" photos to the selected hazard; the number added."""
        row = self._current()
        if row is None or not paths:
            return 0
        added = 0
        for path in paths:
            try:
                data = Path(path).read_bytes()
                with self.store.transaction(label="整改后照片") as s:
                    add_after_photo(s, self.store.photos_dir, self.reinspection_id,
                                    row.hazard_id, data, Path(path).name)
                added += 1
            except FieldCheckError as exc:
                show_error(self, exc, "照片未能添加")
            except OSError as exc:
                show_error(self, FieldCheckError(f"无法读取照片 {path}（{exc.strerror or exc}）",
                                                 "请确认文件存在且可读"), "照片未能添加")
        self.refresh()
        return added

    def finish(self) -> None:
        self.save_pending()
        with self.store.session() as s:
            blockers = reinspection_blockers(s, s.get(Inspection, self.reinspection_id))
            outcome = reinspection_outcome(s, self.reinspection_id)
        if blockers:
            show_error(self, ValidationError("复查尚不能完成", blockers,
                                             "请补全以上内容后再完成复查"), "复查尚不能完成")
            return
        if not confirm(self, "完成复查", f"{outcome.text()}\n\n完成后复查结论不能再修改，"
                       "销号的隐患从台账中关闭。确认完成复查吗？", yes="完成复查", no="返回修改"):
            return
        try:
            with self.store.transaction(label="完成复查") as s:
                finalize_reinspection(s, self.reinspection_id)
        except FieldCheckError as exc:
            show_error(self, exc, "复查尚不能完成")
            return
        self.refresh()
        self.finished.emit(self.reinspection_id)
