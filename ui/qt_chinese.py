"""Qt's own texts in Chinese: the catalogue PySide6 ships, plus what that catalogue lacks.

qtbase_zh_CN.qm predates Qt 6's file dialog: it translates "Look in:" but the dialog asks
for "&Look in:" and "Files of &type:", and the file-type column ("Folder", "%1 File") moved
to the QAbstractFileIconProvider context. A file dialog then read half in English. The
supplement answers exactly those keys; everything else falls through to the catalogue.
"""
from __future__ import annotations

import logging
import os
import sys

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, Qt, QTranslator

log = logging.getLogger("fieldcheck")

# (context, source text) -> Chinese, for keys qtbase_zh_CN.qm (Qt 6.x) does not translate.
SUPPLEMENT = {
    ("QFileDialog", "&Look in:"): "查找范围(&L)：",
    ("QFileDialog", "Files of &type:"): "文件类型(&T)：",
    ("QFileDialog", "Look in"): "查找范围",
    ("QFileDialog", "Open File"): "打开文件",
    ("QFileDialog", "Select Folder"): "选择文件夹",
    ("QFileDialog", "Save"): "保存",
    ("QAbstractFileIconProvider", "Folder"): "文件夹",
    ("QAbstractFileIconProvider", "File Folder"): "文件夹",
    ("QAbstractFileIconProvider", "File"): "文件",
    ("QAbstractFileIconProvider", "%1 File"): "%1 文件",
    ("QAbstractFileIconProvider", "Drive"): "驱动器",
    ("QAbstractFileIconProvider", "Alias"): "别名",
    ("QAbstractFileIconProvider", "Shortcut"): "快捷方式",
    ("QAbstractFileIconProvider", "Unknown"): "未知",
    ("QFileSystemModel", "Drive"): "驱动器",
    ("QSidebar", "Remove"): "移除",
}


class SupplementTranslator(QTranslator):
    """Answers the keys in SUPPLEMENT (any disambiguation), nothing else."""

    def translate(self, context, source_text, disambiguation=None, n=-1):  # noqa: ARG002
        return SUPPLEMENT.get((context, source_text), "")

    def isEmpty(self) -> bool:  # noqa: N802 — Qt's name
        return False


def prefer_chinese_locale(environ=os.environ) -> None:
    """Before the QApplication exists: Qt reads the system locale (file sizes "8 字节",
    dates 2026/12/1 in its file dialog) from the environment on Linux, where a laptop may
    run under C or en_US; Windows gives Qt its own setting and ignores this."""
    current = environ.get("LC_ALL") or environ.get("LANG") or ""
    if sys.platform.startswith("linux") and not current.startswith("zh_"):
        environ["LC_ALL"] = "zh_CN.UTF-8"


def chinese_application(argv: list[str]):
    """The QApplication, with Qt's own texts in Chinese."""
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance()
    if app is None:
        prefer_chinese_locale()
        app = QApplication(argv)
    install_qt_chinese(app)
    return app


def install_qt_chinese(app: QCoreApplication) -> bool:
    """Qt's own texts (standard buttons 确定/取消/关闭, file dialogs, calendars, context menus)
    in Chinese; without it they would read "Cancel", "Look in", "January"."""
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    if sys.platform.startswith("linux"):
        # A desktop's own (GTK/portal) file dialog speaks the desktop's language, which may
        # not be Chinese; Qt's dialog speaks ours. Windows' dialog follows Windows.
        app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, True)
    catalogue = QTranslator(app)
    folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if not catalogue.load("qtbase_zh_CN", folder):
        log.warning("Qt 中文翻译文件 qtbase_zh_CN.qm 未找到：%s", folder)
        return False
    # Installed first, so asked last: the catalogue wins wherever it has a text.
    app.installTranslator(SupplementTranslator(app))
    return app.installTranslator(catalogue)


def uninstall_qt_chinese(app: QCoreApplication) -> None:
    """Undo install_qt_chinese (tests share one application)."""
    for translator in app.findChildren(QTranslator):
        app.removeTranslator(translator)
        translator.deleteLater()
    QLocale.setDefault(QLocale.system())
    app.setAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs, False)
