"""Start-up and the safety net: a programming error is logged and shown, never a vanish."""
import logging
import sqlite3
import sys
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

import ui.app
from models.errors import PhotoError
from models.startup import start_store
from sync.export import export_bundle
from tests.conftest import make_enterprise


@pytest.fixture
def shown(monkeypatch):
    """Record message boxes instead of blocking on them."""
    boxes = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *a: boxes.append(("critical", a[1], a[2])))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: boxes.append(("warning", a[1], a[2])))
    monkeypatch.setattr(QMessageBox, "information",
                        lambda *a: boxes.append(("information", a[1], a[2])))
    yield boxes
    logger = logging.getLogger("fieldcheck")
    for handler in list(logger.handlers):
        handler.close()
        logger.removeHandler(handler)


def test_bug_is_logged_and_shown_in_chinese(qapp, tmp_path, shown, monkeypatch):
    """An unexpected exception lands in the data folder's log and in a Chinese dialog."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    log_file = tmp_path / "fieldcheck.log"
    ui.app.install_error_hook(log_file)
    try:
        raise KeyError("walk_state")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    assert "KeyError" in log_file.read_text("utf-8")
    kind, title, text = shown[0]
    assert kind == "critical" and title == "程序错误" and str(log_file) in text and "已保存" in text


def test_user_situation_missed_by_a_widget_is_a_warning(qapp, tmp_path, shown, monkeypatch):
    """A FieldCheckError that escaped a widget is shown as the user's problem, with what to do."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    ui.app.install_error_hook(tmp_path / "fieldcheck.log")
    try:
        raise PhotoError("照片已损坏", "请重新复制该照片")
    except PhotoError:
        sys.excepthook(*sys.exc_info())
    assert shown == [("warning", "无法完成操作", "照片已损坏；请重新复制该照片")]


class ExitRecorder:
    """Stands in for the QApplication: ending the shared test app would end every later test."""

    def __init__(self):
        self.code = None

    def exit(self, code):
        self.code = code


def test_damaged_store_shows_message_and_exits_2(qtbot, tmp_path, shown):
    """Opening a damaged database shows the Chinese message and ends with code 2, no crash."""
    (tmp_path / "fieldcheck.db").write_bytes(b"garbage" * 2000)
    window = ui.app.MainWindow()
    qtbot.addWidget(window)
    app = ExitRecorder()
    ui.app.open_data(app, window, str(tmp_path))
    assert shown and shown[0][1] == "无法打开数据" and "已损坏" in shown[0][2]
    assert app.code == 2 and window.store is None


def test_missing_document_font_is_said_at_start(qtbot, shown, monkeypatch):
    """Without a usable Chinese font the start-up says what to install, before any signing."""
    import documents.fonts
    monkeypatch.setattr(documents.fonts, "font_dirs", lambda: [])
    documents.fonts.document_fonts.cache_clear()  # found once per process: search again
    window = ui.app.MainWindow()
    qtbot.addWidget(window)
    ui.app.check_document_font(window)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    kind, title, text = shown[0]
    assert kind == "warning" and title == "缺少中文字体" and "fonts-wqy-microhei" in text
    documents.fonts.document_fonts.cache_clear()


def test_qt_standard_buttons_speak_chinese(qapp):
    """Qt's own buttons (a message box's Cancel, a dialog's Close) read 取消 / 关闭."""
    assert ui.app.install_qt_chinese(qapp)
    try:
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel
                               | QDialogButtonBox.StandardButton.Close)
        texts = {box.button(b).text().replace("&", "") for b in (
            QDialogButtonBox.StandardButton.Cancel, QDialogButtonBox.StandardButton.Close)}
        assert texts == {"取消", "关闭"}
    finally:
        for translator in qapp.findChildren(ui.app.QTranslator):
            qapp.removeTranslator(translator)
            translator.deleteLater()


def test_store_restored_from_a_backup_is_told_at_start(qtbot, tmp_path, shown, monkeypatch):
    """A data folder whose chain ends below where an export left it (a backup put back) opens
    under a new device id, and the start says so and what to do."""
    folder = tmp_path / "data"
    store = start_store(folder)
    make_enterprise(store)
    export_bundle(store, tmp_path / "a.fcb")
    store.close()
    with sqlite3.connect(folder / "fieldcheck.db") as con:  # the newest events gone
        con.execute("DELETE FROM audit_event WHERE seq > (SELECT MAX(seq) - 2 FROM audit_event)")
    con.close()
    monkeypatch.setattr("ui.first_run.maybe_run_first_setup", lambda *a: None)
    monkeypatch.setattr(ui.app, "offer_resume", lambda *a: None)
    monkeypatch.setattr(ui.app, "check_document_font", lambda *a: None)
    monkeypatch.setattr("ui.due_dialog.show_due_on_start", lambda *a: None)
    window = ui.app.MainWindow()
    qtbot.addWidget(window)
    app = ExitRecorder()
    app.aboutToQuit = SimpleNamespace(connect=lambda _slot: None)
    ui.app.open_data(app, window, str(folder))
    try:
        assert [kind for kind, *_ in shown] == ["information"]
        assert shown[0][1] == "本机数据已从备份恢复" and "新的设备编号" in shown[0][2]
    finally:
        window.store.close()


def test_bundled_font_draws_chinese_on_screen(qapp, tmp_path, monkeypatch):
    """A package's resources/fonts/ font is known to Qt, so labels need no system CJK font."""
    import shutil

    from PySide6.QtGui import QFont, QFontMetrics
    fonts = tmp_path / "resources" / "fonts"
    fonts.mkdir(parents=True)
    shutil.copy("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", fonts)
    monkeypatch.setattr(ui.app, "resources_dir", lambda: tmp_path / "resources")
    families = ui.app.install_bundled_fonts()
    assert "WenQuanYi Micro Hei" in families
    assert QFontMetrics(QFont("WenQuanYi Micro Hei")).inFont("检")
