"""After finalizing: sign and issue the documents, then preview, print or save them."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from documents.keys import identity_exists
from documents.service import (KIND_LABEL, SigningInput, document_file, issue_case_documents,
                               issued_documents, render_documents, unlock_signer)
from models.errors import FieldCheckError
from models.inspection_rules import get_inspection
from models.paths import atomic_write_bytes
from models.settings_rules import check_ready_to_issue, get_agency_settings
from ui.certificate_import import create_certificate
from ui.messages import show_error
from ui.pdf_preview import PdfPreviewDialog, load_pdf, print_pdf
from ui.photo_ingest import run_off_ui_thread
from ui.print_all import choose_printer, print_case
from ui.signature_pad import SignatureDialog

DocIdRole = Qt.ItemDataRole.UserRole + 1


def ask_signature(parent, label: str, allow_refusal: bool = False):
    """(png bytes or None, refused) — replaced in tests by a recorder."""
    dialog = SignatureDialog(label, parent, allow_refusal=allow_refusal)
    if not dialog.exec():
        return None, False
    return dialog.png_bytes, dialog.refused


def open_preview(parent, path: Path, title: str) -> None:
    """Modal preview — replaced in tests by a recorder."""
    PdfPreviewDialog(path, title, parent).exec()


def ask_text(parent, title: str, label: str, secret: bool = False) -> str | None:
    mode = QLineEdit.EchoMode.Password if secret else QLineEdit.EchoMode.Normal
    text, ok = QInputDialog.getText(parent, title, label, mode)
    return text if ok else None


class DocumentsPanel(QWidget):
    issued = Signal()
    drafts_ready = Signal()

    def __init__(self, store, inspection_id: uuid.UUID, actor: str, parent=None) -> None:
        super().__init__(parent)
        self.store, self.inspection_id, self.actor = store, inspection_id, actor
        title = QLabel("执法文书")
        title.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.list = QListWidget()
        self.list.setObjectName("documents")
        self.list.setMaximumHeight(110)
        self.list.itemDoubleClicked.connect(lambda _i: self.preview())
        self.sign_button = QPushButton("签字并生成文书")
        self.sign_button.setObjectName("sign_documents")
        self.sign_button.setProperty("role", "primary")
        self.sign_button.clicked.connect(self.sign_and_issue)
        self.draft_button = QPushButton("签字前预览文书")
        self.draft_button.setObjectName("preview_drafts")
        self.draft_button.setToolTip("生成未签字的文书供被检查单位负责人在签字前阅读")
        self.draft_button.clicked.connect(self.show_drafts)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setFormat("正在生成并签章……")
        self.busy.hide()
        buttons = QHBoxLayout()
        self.action_buttons = []
        for text, slot in (("预览", self.preview), ("打印", self.print_selected), ("另存为 PDF", self.save_as)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            self.action_buttons.append(button)
            buttons.addWidget(button)
        self.print_all_button = QPushButton("打印全部")
        self.print_all_button.setObjectName("print_all")
        self.print_all_button.setToolTip("按顺序打印本案全部文书（检查记录、整改指令、处理决定、照片附页），"
                                         "份数见 设置 → 打印份数")
        self.print_all_button.clicked.connect(self.print_all)
        buttons.insertWidget(2, self.print_all_button)
        self.status = QLabel()
        self.status.setObjectName("documents_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        buttons.addStretch()
        self.expert_box = QCheckBox("有检查专家签字")
        buttons.addWidget(self.expert_box)
        buttons.addWidget(self.draft_button)
        buttons.addWidget(self.sign_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.list)
        layout.addWidget(self.busy)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.refresh()

    def refresh(self) -> None:
        with self.store.session() as s:
            finalized = get_inspection(s, self.inspection_id).is_finalized
            docs = issued_documents(s, self.inspection_id)
        self.list.clear()
        for doc in docs:
            self._add_entry(f"{KIND_LABEL[doc.kind]}　{doc.number}　· 已签章",
                            KIND_LABEL[doc.kind] + " " + doc.number, document_file(self.store.data_dir, doc))
        self.setVisible(finalized)
        self.sign_button.setVisible(finalized and not docs)
        self.draft_button.setVisible(finalized and not docs)
        self.expert_box.setVisible(finalized and not docs)
        self._update_actions()

    def _add_entry(self, text: str, title: str, path: Path) -> None:
        entry = QListWidgetItem(text)
        entry.setData(DocIdRole, (title, path))
        self.list.addItem(entry)
        self.list.setCurrentRow(0)

    def _update_actions(self) -> None:
        for button in self.action_buttons:
            button.setEnabled(self.list.count() > 0)
        with self.store.session() as s:
            issued = bool(issued_documents(s, self.inspection_id))
        self.print_all_button.setEnabled(issued)  # the signed set only, never drafts

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    # Reading before signing -------------------------------------------------
    def show_drafts(self) -> None:
        """Render the documents without signatures so the manager reads them before signing."""
        folder = Path(self.store.data_dir) / "drafts" / str(self.inspection_id)

        def work():
            with self.store.session() as s:
                unsigned = render_documents(s, get_inspection(s, self.inspection_id),
                                            self.store.photos_dir)
            out = []
            for kind, number, pdf in unsigned:
                path = folder / f"{kind.value}.pdf"
                atomic_write_bytes(path, pdf)
                out.append((kind, number, path))
            return out
        self.busy.setFormat("正在生成文书草稿……")
        self.busy.show()
        run_off_ui_thread(self, work, self._drafts_ready)

    def _drafts_ready(self, drafts, error) -> None:
        self.busy.hide()
        if isinstance(error, FieldCheckError):
            show_error(self, error, "无法生成文书草稿")
            return
        if error is not None:
            raise error
        self.list.clear()
        for kind, number, path in drafts:
            self._add_entry(f"{KIND_LABEL[kind]}　{number}　· 草稿（未签字，仅供阅读）",
                            f"{KIND_LABEL[kind]}（草稿）", path)
        self._update_actions()
        self.drafts_ready.emit()
        self.preview()

    # Signing ----------------------------------------------------------------
    def _team(self):
        with self.store.session() as s:
            inspection = get_inspection(s, self.inspection_id)
            agency = get_agency_settings(s).agency_name
            team = [(m.inspector.id, m.inspector.name, m.inspector.certificate_no)
                    for m in inspection.team][:2]
            representative = inspection.enterprise.legal_representative
        return team, agency, representative

    def _unlock(self, person, agency: str):
        """The inspector's signer, checked the moment the passphrase is typed: a wrong one is
        said at once, naming them, and asked again — before the next person signs."""
        pid, name, cert = person
        if not identity_exists(self.store.data_dir, pid):  # not set up in 设置: do it now
            made = create_certificate(self, self.store.data_dir, pid, name, cert, agency)
            return None if made is None else unlock_signer(self.store.data_dir, pid, name, made)
        while True:
            passphrase = ask_text(self, "签名口令", f"请 {name} 输入签名口令：", secret=True)
            if passphrase is None:
                return None
            try:
                return unlock_signer(self.store.data_dir, pid, name, passphrase)
            except FieldCheckError as exc:
                show_error(self, exc, "签名口令不正确")

    def collect_signing(self) -> SigningInput | None:
        """Ask each person in turn; None when someone cancels."""
        team, agency, representative = self._team()
        sign = SigningInput(images={}, passphrases={}, representative_name=representative)
        for n, person in enumerate(team, 1):
            png, _ = ask_signature(self, f"执法人员：{person[1]}（执法证号 {person[2]}）")
            if png is None:
                return None
            sign.images[f"inspector{n}"] = png
            signer = self._unlock(person, agency)
            if signer is None:
                return None
            sign.signers[person[0]] = signer
        png, refused = ask_signature(self, f"被检查单位现场负责人：{representative}", allow_refusal=True)
        if png is None and not refused:
            return None
        if refused:
            sign.refused = True
            sign.witness_name = ask_text(self, "见证人", "拒绝签字：请输入见证人姓名") or ""
            png, _ = ask_signature(self, f"见证人：{sign.witness_name}")
            if png is None:
                return None
            sign.images["witness"] = png
        else:
            sign.images["representative"] = png
        if self.expert_box.isChecked():
            sign.expert_name = ask_text(self, "检查专家", "请输入检查专家姓名") or ""
            png, _ = ask_signature(self, f"检查专家：{sign.expert_name}")
            if png is None:
                return None
            sign.images["expert"] = png
        return sign

    def sign_and_issue(self) -> None:
        try:
            with self.store.session() as s:  # before anyone signs, not after
                check_ready_to_issue(s)
            sign = self.collect_signing()
        except FieldCheckError as exc:
            show_error(self, exc)
            return
        if sign is None:
            return
        self.busy.setFormat("正在生成并签章……")
        self.busy.show()
        self.sign_button.setEnabled(False)
        work = lambda: issue_case_documents(self.store, self.inspection_id, sign, actor=self.actor)  # noqa: E731
        run_off_ui_thread(self, work, self._issued)

    def _issued(self, _docs, error) -> None:
        self.busy.hide()
        self.sign_button.setEnabled(True)
        if isinstance(error, FieldCheckError):
            show_error(self, error, "无法生成文书")
        elif error is not None:
            raise error
        self.refresh()
        self.issued.emit()

    # Using the documents ----------------------------------------------------
    def _selected(self):
        """(title, path) of the chosen document, or None."""
        entry = self.list.currentItem()
        return entry.data(DocIdRole) if entry is not None else None

    def preview(self) -> None:
        chosen = self._selected()
        if chosen:
            title, path = chosen
            try:
                open_preview(self, path, title)
            except FieldCheckError as exc:
                show_error(self, exc)

    def print_selected(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        printer = choose_printer(self)
        if printer is not None:
            try:
                pages = print_pdf(load_pdf(chosen[1], self), printer)
            except FieldCheckError as exc:
                show_error(self, exc, "打印失败")
                return
            self._say(f"已发送打印：{chosen[0]}，共 {pages} 页。")

    def print_all(self) -> None:
        """The case's signed documents in order, one set per copy the template asks for."""
        try:
            said = print_case(self, self.store, self.inspection_id)
        except FieldCheckError as exc:
            show_error(self, exc, "打印失败")
            return
        if said:
            self._say(said)

    def save_as(self) -> None:
        chosen = self._selected()
        if not chosen:
            return
        title, path = chosen
        target, _ = QFileDialog.getSaveFileName(self, "另存为 PDF", f"{title.replace(' ', '_')}.pdf",
                                                "PDF (*.pdf)")
        if target:
            try:
                shutil.copyfile(path, Path(target))
            except OSError as exc:
                show_error(self, FieldCheckError(f"无法保存到 {target}（{exc.strerror or exc}）",
                                                 "请换一个位置，或检查U盘是否写保护、空间是否足够"))
                return
            self._say(f"已另存为：{Path(target).resolve()}")
