"""Starting the GUI: show the window, open the store, first-run setup, offer to resume.

The window appears before SQLAlchemy is even imported, so the team sees FieldCheck at once;
the data follows a fraction of a second later.
"""
from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase, QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from models.errors import FieldCheckError
from models.local_time import agency_time
from models.paths import resources_dir
from ui.main_window import MainWindow
from ui.messages import confirm
from ui.qt_chinese import chinese_application, install_qt_chinese  # noqa: F401 (tests)
from ui.style import apply_style

log = logging.getLogger("fieldcheck")
# Benchmarks and smoke checks: quit once the window is shown, or once its data is shown.
EXIT_AFTER_SHOW = "FIELDCHECK_EXIT_AFTER_SHOW"
EXIT_AFTER_READY = "FIELDCHECK_EXIT_AFTER_READY"


def install_error_hook(log_file: Path) -> None:
    """Our bugs: log them to the data folder and show a dialog — the app does not vanish."""
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    def hook(exc_type, exc, tb):
        log.error("未处理的程序错误\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        if isinstance(exc, FieldCheckError):  # the user's situation, missed by a widget
            QMessageBox.warning(None, "无法完成操作", exc.text())
            return
        QMessageBox.critical(
            None, "程序错误",
            f"程序内部出错：{exc_type.__name__}: {exc}\n\n已记录到日志 {log_file}。\n"
            "已录入的数据都已保存，可以继续使用；请把该日志发给技术支持。")

    sys.excepthook = hook


def offer_resume(store, window: MainWindow) -> None:
    """After a crash or a normal close mid-inspection, offer to go on where the team stopped."""
    from models.walk_queries import resume_candidate
    with store.session() as s:
        inspection = resume_candidate(s)
        if inspection is None:
            return
        name, started = inspection.enterprise.name, agency_time(inspection.started_at)
        inspection_id, item_id = inspection.id, inspection.current_item_id
    text = (f"{name} 的现场检查（{started:%Y年%m月%d日 %H:%M} 开始）尚未完成。\n"
            "已录入的内容都已保存。是否从上次停下的检查项继续？")
    if confirm(window, "继续未完成的检查", text, yes="继续检查", no="稍后"):
        window.open_inspection(inspection_id, item_id)


def open_data(app: QApplication, window: MainWindow, data_dir: str | None,
              database_url: str | None = None) -> None:
    """Open the store behind the shown window; a damaged or unusable one gets a clear message."""
    from models.startup import start_store
    try:
        # The file's pages are checked after the first screen (check_store_file), not before.
        store = start_store(data_dir, database_url, full_check=False)
    except FieldCheckError as exc:
        QMessageBox.critical(window, "无法打开数据", f"{exc.message}\n\n{exc.hint}")
        app.exit(2)
        return
    app.aboutToQuit.connect(window.save_pending)  # before the store closes: quitting loses nothing
    app.aboutToQuit.connect(store.close)
    install_error_hook(store.data_dir / "fieldcheck.log")
    window.attach_store(store)
    if os.environ.get(EXIT_AFTER_READY):
        QTimer.singleShot(0, app.quit)
        return
    check_store_file(store, window)  # behind the shown data, while any start dialog is read
    if store.recovered_note:  # restored from a backup: say what happened and what to do
        QMessageBox.information(window, "本机数据已从备份恢复", store.recovered_note)
    warn_case_range(store, window)
    from ui.first_run import maybe_run_first_setup
    maybe_run_first_setup(store, window)
    offer_resume(store, window)
    from ui.due_dialog import show_due_on_start
    show_due_on_start(store, window)
    check_document_font(window)


def check_store_file(store, window: MainWindow) -> None:
    """PRAGMA quick_check over the laptop's whole file (0.6–1 s at 100k inspections), behind
    the shown data: a damaged file is said at once, with what to do (models.store). The
    office's server checks its own pages."""
    if store.backend != "sqlite":
        return
    from models.store import quick_check
    from ui.photo_ingest import run_off_ui_thread

    def done(_result, error) -> None:
        if isinstance(error, FieldCheckError):
            QMessageBox.critical(window, "数据库文件已损坏", error.text())
        elif error is not None:
            raise error
    run_off_ui_thread(window, lambda: quick_check(store.db_path), done)


def check_document_font(window: MainWindow) -> None:
    """Say at start, not at the signing moment, when no Chinese font can go into the PDFs."""
    from documents.fonts import document_fonts
    from ui.photo_ingest import run_off_ui_thread

    def done(_fonts, error) -> None:
        if isinstance(error, FieldCheckError):
            QMessageBox.warning(window, "缺少中文字体", error.text())
        elif error is not None:
            raise error
    run_off_ui_thread(window, document_fonts, done)


def warn_case_range(store, parent) -> None:
    """Told in time: 90 % of this laptop's case-number range used (models.case_range)."""
    from models.base import utcnow
    from models.case_range import range_warning
    from models.inspection_rules import local_date
    with store.session() as s:
        text = range_warning(s, store.data_dir, local_date((store.clock or utcnow)()).year)
    if text:
        QMessageBox.warning(parent, "文书编号段即将用完", text)


def install_bundled_fonts() -> list[str]:
    """The fonts in resources/fonts (the package brings WenQuanYi Micro Hei) join the
    system's: the screen reads Chinese on a laptop that has no Chinese font installed."""
    folder = resources_dir() / "fonts"
    families: list[str] = []
    for path in sorted(folder.glob("*.tt[cf]")) if folder.is_dir() else []:
        families += QFontDatabase.applicationFontFamilies(QFontDatabase.addApplicationFont(str(path)))
    return families


def run_gui(data_dir: str | None, database_url: str | None = None) -> int:
    app = chinese_application(sys.argv)
    app.setApplicationName("FieldCheck")
    app.setDesktopFileName("fieldcheck")  # the .deb's desktop entry: icon and name in the dock
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "fieldcheck.svg")))
    install_bundled_fonts()
    apply_style(app)
    window = MainWindow()
    window.show()
    if os.environ.get(EXIT_AFTER_SHOW):
        QTimer.singleShot(0, app.quit)
    else:
        QTimer.singleShot(0, lambda: open_data(app, window, data_dir, database_url))
    return app.exec()
