"""Importing the agency's PKCS#12 signing certificate for an inspector (instead of a new key)."""
from __future__ import annotations

import uuid
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from documents.keys import identity_exists, import_pkcs12
from models.errors import FieldCheckError
from ui.messages import confirm, show_error


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
