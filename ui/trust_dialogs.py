"""Trust in the GUI: a new device's fingerprint compared, the key passphrase asked or changed,
the agency's enrollment file installed (设置 → 机构与密钥). The rules live in sync.trust,
sync.keystore and sync.agency; these dialogs only ask and show.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from sync import agency
from sync.trust import normal_fingerprint


def _plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # names from outside are never markup
    label.setWordWrap(True)
    return label


def _buttons(dialog: QDialog, ok_text: str) -> tuple[QDialogButtonBox, QPushButton]:
    box = QDialogButtonBox()
    ok = box.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
    box.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box, ok


class TrustDeviceDialog(QDialog):
    """A bundle from a device this store (no agency) has never trusted: the user types the
    fingerprint the sending laptop shows; only the same one enables 信任并导入."""

    def __init__(self, device_id: str, fingerprint: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("首次收到该设备的导出包")
        self.fingerprint = fingerprint
        layout = QVBoxLayout(self)
        layout.addWidget(_plain(
            f"该导出包来自本机从未信任过的设备（编号 {device_id[:8]}…），签名指纹为：\n\n"
            f"{fingerprint}\n\n请在导出电脑上打开「设置」查看「本机导出签名指纹」（或运行 status），"
            "把那里显示的指纹输入下面。两者一致才能信任；此后该设备编号只认这把密钥。"))
        self.typed = QLineEdit(placeholderText="例如 51E7-FE21-59BB-A270")
        layout.addWidget(self.typed)
        self.verdict = _plain("")
        layout.addWidget(self.verdict)
        box, self.ok = _buttons(self, "指纹一致，信任并导入")
        layout.addWidget(box)
        self.ok.setEnabled(False)
        self.typed.textChanged.connect(self._compare)

    def _compare(self, text: str) -> None:
        typed = normal_fingerprint(text)
        same = typed == normal_fingerprint(self.fingerprint)
        self.ok.setEnabled(same)
        if same:
            self.verdict.setText("指纹一致")
        elif len(typed) >= 16:
            self.verdict.setText("指纹不一致：不要导入该导出包，并报告管理员")
        else:
            self.verdict.setText("")


class PassphraseDialog(QDialog):
    """The 本机密钥口令, asked once per session where no OS keyring is usable."""

    def __init__(self, parent: QWidget | None = None, text: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("输入本机密钥口令")
        layout = QVBoxLayout(self)
        layout.addWidget(_plain(text or "本机的导出签名密钥受口令保护（本机没有可用的系统钥匙串）。"
                                "首次使用时设置的口令即为此口令，至少 8 个字符。"))
        self.passphrase = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        layout.addWidget(self.passphrase)
        box, self.ok = _buttons(self, "确定")
        layout.addWidget(box)


def ask_passphrase(parent, data_dir) -> bool:
    """Ask and remember the passphrase for this session; False when cancelled."""
    from sync.keystore import unlock
    dialog = PassphraseDialog(parent)
    if dialog.exec() != QDialog.DialogCode.Accepted or not dialog.passphrase.text():
        return False
    unlock(data_dir, dialog.passphrase.text())
    return True


class ChangePassphraseDialog(QDialog):
    """设置 → 修改本机密钥口令: every passphrase-protected key of this data folder."""

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle("修改本机密钥口令")
        form = QFormLayout(self)
        self.old = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.new = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.again = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        form.addRow("原口令", self.old)
        form.addRow("新口令（至少 8 个字符）", self.new)
        form.addRow("再输入一次", self.again)
        self.problem = _plain("")
        form.addRow(self.problem)
        box, self.ok = _buttons(self, "修改")
        box.accepted.disconnect()
        box.accepted.connect(self._change)
        form.addRow(box)

    def _change(self) -> None:
        from sync.keystore import change_passphrase
        if self.new.text() != self.again.text():
            self.problem.setText("两次输入的新口令不一致")
            return
        try:
            change_passphrase(self.store.data_dir, self.old.text(), self.new.text())
        except FieldCheckError as exc:
            self.problem.setText(exc.text())
            return
        self.accept()


class AgencyPanel(QWidget):
    """设置 → 机构与密钥: which agency this laptop belongs to, join one, change the passphrase."""

    def __init__(self, store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        layout = QVBoxLayout(self)
        self.status = _plain("")
        layout.addWidget(self.status)
        self.join_button = QPushButton("安装登记文件（加入机构）…")
        self.join_button.clicked.connect(self.choose_enrollment)
        self.passphrase_button = QPushButton("修改本机密钥口令…")
        self.passphrase_button.clicked.connect(
            lambda: ChangePassphraseDialog(self.store, self).exec())
        layout.addWidget(self.join_button)
        layout.addWidget(self.passphrase_button)
        layout.addWidget(_plain("登记步骤：本机运行 python main.py agency request --out 申请文件 → 交给办公室"
                                "（agency enroll）→ 把办公室给回的登记文件在此安装。"))
        self.result = _plain("")
        layout.addWidget(self.result)
        layout.addStretch(1)
        self.refresh()

    def refresh(self) -> None:
        from models.case_range import case_range
        from sync import agency
        try:
            ca = agency.installed_ca(self.store.data_dir)
        except FieldCheckError as exc:
            self.status.setText(exc.text())
            return
        rng = case_range(self.store.data_dir)
        if ca is None:
            self.status.setText("本机尚未加入机构：导入其他电脑的导出包前，需逐一核对其签名指纹。")
        else:
            self.status.setText(f"所属机构：{agency.agency_name(ca)}（根证书指纹 {agency.cert_fingerprint(ca)}）"
                                + (f"\n本机文书编号段：{rng.start}–{rng.end}" if rng else ""))

    def confirm_ca(self, agency_name: str, fingerprint: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "核对机构根证书指纹",
                          f"这是本机第一次加入机构。登记文件中的机构：\n\n{agency_name}\n\n"
                          f"根证书指纹：{fingerprint}\n\n请与办公室电脑「设置 → 机构与密钥」或 agency show "
                          "显示的指纹逐字核对。只有完全一致时才点「一致，加入」；不一致说明文件可能被调换。",
                          parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        join = box.addButton("一致，加入", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("不一致，取消", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        return box.clickedButton() is join

    def choose_enrollment(self) -> None:  # pragma: no cover - a native dialog
        name, _ = QFileDialog.getOpenFileName(self, "选择登记文件", "", "登记文件 (*.json);;所有文件 (*)")
        if name:
            self.join(name)

    def join(self, path, ca_fingerprint: str | None = None) -> bool:
        from sync.agency_cli import join_file
        from sync.keystore import KeyLocked
        try:
            joined = join_file(self.store, path, ca_fingerprint)
        except KeyLocked:
            if not ask_passphrase(self, self.store.data_dir):
                return False
            return self.join(path, ca_fingerprint)
        except agency.CAUnconfirmed as exc:
            if not self.confirm_ca(exc.agency, exc.fingerprint):
                self.result.setText("未加入机构：根证书指纹未经核对确认；未作任何改动")
                return False
            return self.join(path, exc.fingerprint)
        except FieldCheckError as exc:
            self.result.setText(exc.text())
            return False
        self.result.setText(f"已加入机构：{joined.agency}（根证书指纹 {joined.fingerprint}）；"
                            f"本机文书编号段 {joined.case_range[0]}–{joined.case_range[1]}")
        self.refresh()
        return True
