"""Starting the GUI: open the store, show the main window, turn errors into dialogs."""
from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from models.errors import FieldCheckError
from models.store import Store

log = logging.getLogger("fieldcheck")


def install_error_hook(log_file: Path) -> None:
    """Our bugs: log them to the data folder and show a dialog — the app does not vanish."""
    logging.basicConfig(filename=log_file, level=logging.INFO, encoding="utf-8",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def hook(exc_type, exc, tb):
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("未处理的程序错误\n%s", text)
        if QApplication.instance() is not None:
            QMessageBox.critical(
                None, "程序错误",
                f"程序内部出错：{exc}\n\n已记录到日志 {log_file}。"
                "已录入的数据都已保存；请把该日志发给技术支持。")

    sys.excepthook = hook


class MainWindow(QMainWindow):
    """Placeholder home screen until the inspection UI lands."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.setWindowTitle("工贸安全现场检查 FieldCheck")
        self.resize(1280, 720)
        body = QWidget()
        layout = QVBoxLayout(body)
        title = QLabel("工贸安全现场检查")
        title.setFont(QFont(title.font().family(), 24, QFont.Weight.Bold))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel()
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch()
        layout.addWidget(title)
        layout.addWidget(self.summary)
        layout.addStretch()
        self.setCentralWidget(body)
        self.refresh()

    def refresh(self) -> None:
        from models.reports import status_summary
        with self.store.session() as s:
            summary = status_summary(s)
        self.summary.setText(
            f"企业 {summary['enterprises']} 家 · 检查 {sum(summary['inspections'].values())} 次 · "
            f"数据文件夹 {self.store.data_dir}")


def run_gui(data_dir: str | None) -> int:
    from models.startup import start_store

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("FieldCheck")
    try:
        store = start_store(data_dir)
    except FieldCheckError as exc:
        QMessageBox.critical(None, "无法打开数据", f"{exc.message}\n\n{exc.hint}")
        return 2
    install_error_hook(store.data_dir / "fieldcheck.log")
    window = MainWindow(store)
    window.show()
    try:
        return app.exec()
    finally:
        store.close()
