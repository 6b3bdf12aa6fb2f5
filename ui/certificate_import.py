"""An inspector's signing certificate, set up before going on site: made here under a
passphrase, or imported from the agency's PKCS#12 file."""
from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from documents.keys import (MIN_PASSPHRASE_LENGTH, create_inspector_identity, identity_exists,
                            import_pkcs12, new_passphrase_problem)
from models.errors import FieldCheckError
from ui.messages import confirm, show_error


def ask_secret(parent: QWidget | None, title: str, label: str) -> str | None:
    """A passphrase typed in a masked field; None when cancelled (replaced in tests)."""
    text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Password)
    return text if ok else None


def ask_new_passphrase(parent: QWidget | None, name: str) -> str | None:
    """A new passphrase typed twice; asks again while it is refused; None when cancelled."""
    while True:
        first = ask_secret(parent, "设置签名口令",
                           f"请 {name} 设置签名口令（至少 {MIN_PASSPHRASE_LENGTH} 个字符，签署文书时输入）：")
        if first is None:
            return None
        problem = new_passphrase_problem(first)
        if problem is None:
            again = ask_secret(parent, "设置签名口令", f"请 {name} 再输入一次签名口令：")
            if again is None:
                return None
            if again == first:
                return first
            problem = "两次输入的签名口令不一致"
        show_error(parent, FieldCheckError(problem, "请重新设置"), "签名口令")


def create_certificate(parent: QWidget | None, data_dir: Path, inspector_id: uuid.UUID, name: str,
                       certificate_no: str, agency_name: str) -> str | None:
    """Make the inspector's key under a passphrase set now; the passphrase, or None."""
    if identity_exists(data_dir, inspector_id) and not confirm(
            parent, "重新生成签名证书",
            f"{name} 已有签名证书。重新生成后将用新证书签署（旧文书仍可校验），是否继续？",
            yes="重新生成", no="取消"):
        return None
    passphrase = ask_new_passphrase(parent, name)
    if passphrase is None:
        return None
    try:
        create_inspector_identity(data_dir, inspector_id, name, certificate_no, passphrase, agency_name)
    except FieldCheckError as exc:
        show_error(parent, exc, "无法生成签名证书")
        return None
    return passphrase


def import_certificate(parent: QWidget, data_dir: Path, inspector_id: uuid.UUID, name: str) -> bool:
    """Ask for the .p12/.pfx file and its passphrase; True when the certificate is stored."""
    if identity_exists(data_dir, inspector_id) and not confirm(
            parent, "替换签名证书", f"{name} 已有签名证书。导入后将改用新证书签署（旧文书仍可校验），是否继续？",
            yes="替换", no="取消"):
        return False
    path, _ = QFileDialog.getOpenFileName(parent, f"选择 {name} 的签名证书文件", "",
                                          "签名证书 (*.p12 *.pfx)")
    if not path:
        return False
    passphrase, ok = QInputDialog.getText(parent, "证书口令", "请输入该证书文件的口令：",
                                          QLineEdit.EchoMode.Password)
    if not ok:
        return False
    try:
        import_pkcs12(data_dir, inspector_id, Path(path).read_bytes(), passphrase)
    except FieldCheckError as exc:
        show_error(parent, exc, "无法导入证书")
        return False
    except OSError as exc:
        show_error(parent, FieldCheckError(f"无法读取文件 {path}（{exc.strerror or exc}）",
                                           "请确认U盘已插好、文件存在"), "无法导入证书")
        return False
    QMessageBox.information(parent, "已导入", f"{name} 的签名证书已导入，签署文书时使用该证书的口令。")
    return True
