"""设置 → 软件更新: 「检查更新」 takes an update from the USB stick and verifies it before
anything is installed (release/); an unsigned or altered one is refused in one line."""
from __future__ import annotations

import shlex
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QMessageBox,
                               QPushButton, QVBoxLayout, QWidget)

from models.errors import FieldCheckError
from release import signature, update
from ui.style import GREEN, RED


class UpdatePanel(QWidget):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.verified: tuple[signature.Release, Path] | None = None
        keys = ", ".join(signature.key_fingerprint(k) for k in signature.pinned_keys()) or "（无）"
        intro = QLabel(f"当前版本：FieldCheck {update.current_version()}\n"
                       f"本程序只接受办公室发布密钥签名的更新，发布密钥指纹：{keys}\n"
                       "请选择U盘上的安装包（.deb，Windows 选安装包文件夹中的 install.ps1）；"
                       "签名文件（.sig）须在它旁边。")
        intro.setWordWrap(True)
        self.check_button = QPushButton("检查更新…")
        self.check_button.clicked.connect(self._choose)
        self.install_button = QPushButton("安装")
        self.install_button.setEnabled(False)
        self.install_button.clicked.connect(self._install)
        self.result = QLabel()
        self.result.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.install_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addStretch(1)

    def choose_file(self) -> str:
        path, _filter = QFileDialog.getOpenFileName(
            self, "选择U盘上的更新", "", "FieldCheck 更新 (*.deb *.sig install.ps1);;所有文件 (*)")
        return path

    def _choose(self) -> None:
        path = self.choose_file()
        if path:
            self.check(Path(path))

    def check(self, chosen: Path) -> None:
        """Copy and verify; only a verified copy can be installed."""
        self.verified = None
        self.install_button.setEnabled(False)
        try:
            release, copy = update.receive_update(chosen, self.data_dir)
            if release.kind != update.platform_kind():
                update.forget_updates(self.data_dir)
                raise FieldCheckError(f"该更新（{release.name}）不适用于本机的系统",
                                      "Linux 用 .deb，Windows 用 Windows 安装包")
        except FieldCheckError as exc:
            self._say(exc.text(), RED)
            return
        self.verified = (release, copy)
        self.install_button.setEnabled(True)
        self._say(f"签名有效：FieldCheck {release.version}（{release.name}），发布密钥 {release.signer}，"
                  f"签于 {release.signed_at}。点击「安装」开始安装（FieldCheck 会先关闭）。", GREEN)

    def _say(self, text: str, colour: str) -> None:
        self.result.setStyleSheet(f"color: {colour};")
        self.result.setText(text)

    def _install(self) -> None:
        if self.verified is None:
            return
        command = update.install_command(*self.verified)
        if QProcess.startDetached(command[0], command[1:])[0]:
            # The installer replaces this program's files: FieldCheck closes (everything
            # entered is already on disk) and is started again once the install is done.
            QMessageBox.information(self, "正在安装更新", "安装程序已启动（可能要求输入管理员密码）。"
                                    "FieldCheck 现在关闭；安装完成后请重新打开。")
            QTimer.singleShot(0, QApplication.quit)
        else:
            self._say(f"无法启动安装程序。请以管理员身份运行：{shlex.join(command)}", RED)
