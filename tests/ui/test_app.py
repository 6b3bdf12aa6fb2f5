"""Start-up and the safety net: a programming error is logged and shown, never a vanish."""
import logging
import sqlite3
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

import ui.app
from ui.qt_chinese import uninstall_qt_chinese

REPO = Path(__file__).resolve().parent.parent.parent
from models.errors import PhotoError
from models.startup import start_store
from sync.export import export_bundle
from tests.conftest import make_enterprise, valid_credit_code


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
        uninstall_qt_chinese(qapp)


FILE_DIALOG_SCRIPT = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QComboBox, QFileDialog,
                               QLabel, QWidget)
from ui.qt_chinese import chinese_application

folder, mode, png = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
app = chinese_application(sys.argv[:1])
dialog = QFileDialog(None, "另存为 PDF", str(folder), "PDF (*.pdf)")
if mode == "save":
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
dialog.show()

def texts():
    out = []
    for widget in dialog.findChildren(QWidget):
        if isinstance(widget, (QLabel, QAbstractButton)):
            out.append(widget.text())
        out.append(widget.toolTip())
        if isinstance(widget, QComboBox):
            out += [widget.itemText(i) for i in range(widget.count())]
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model, root = widget.model(), widget.rootIndex()
            out += [str(model.headerData(c, Qt.Orientation.Horizontal))
                    for c in range(model.columnCount(root))]
            out += [str(model.index(r, c, root).data()) for r in range(model.rowCount(root))
                    for c in range(model.columnCount(root))]
    return out

def done():
    dialog.grab().save(png)
    print(json.dumps({"texts": texts(),
                      "native": not app.testAttribute(Qt.ApplicationAttribute.AA_DontUseNativeDialogs)}))
    app.quit()

from PySide6.QtCore import QTimer
QTimer.singleShot(1500, done)  # the file model fills its rows and type column meanwhile
app.exec()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Windows shows its own dialog")
@pytest.mark.parametrize("mode", ["open", "save"])
def test_qt_file_dialog_speaks_chinese(tmp_path, mode):
    """Qt's file dialog, in an application started the way FieldCheck starts (LANG=C here),
    reads Chinese: no "Look in", "Files of type", "Folder", "8 bytes" — only file names and
    the filter's pattern stay as they are."""
    import json
    import os
    import re
    import subprocess
    folder = tmp_path / "U盘"
    (folder / "子文件夹").mkdir(parents=True)
    (folder / "文书.pdf").write_bytes(b"%PDF-1.7")
    png = tmp_path / f"file-dialog-{mode}.png"
    env = dict(os.environ, PYTHONPATH=str(REPO), LANG="C.UTF-8", QT_QPA_PLATFORM="offscreen")
    env.pop("LC_ALL", None)
    result = subprocess.run([sys.executable, "-c", FILE_DIALOG_SCRIPT, str(folder), mode, str(png)],
                            capture_output=True, text=True, env=env, timeout=60)
    shown = json.loads(result.stdout)
    texts = shown["texts"]
    assert not shown["native"]  # Qt's dialog, not the desktop's (in the desktop's language)
    assert "查找范围(&L)：" in texts and "文件类型(&T)：" in texts and "文件夹" in texts
    assert "8 字节" in texts and "子文件夹" in texts
    english = [t for t in texts if re.search(r"[A-Za-z]{2,}", t)
               and not re.search(r"[\u4e00-\u9fff]", t)  # "PDF 文档" is Chinese
               and t not in ("PDF (*.pdf)", "None", str(folder), Path.home().name)]  # names
    assert english == [], english


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


def damage_an_index_page(db_path: Path) -> None:
    """Garbage over a page of an index the start neither reads nor writes (photos by
    inspection): SQLite opens the file, PRAGMA quick_check finds the damage."""
    con = sqlite3.connect(db_path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("SELECT max(pageno) FROM dbstat WHERE name = 'ix_photo_inspection_id'"
                           ).fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    with open(db_path, "r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(b"\xff" * 16)


@pytest.fixture
def damaged_folder(tmp_path):
    store = start_store(tmp_path / "damaged")
    for n in range(3):
        make_enterprise(store, name=f"湘乡市第{n}机械有限公司",
                        credit_code=valid_credit_code(f"91430381MA4LDMG{n:02d}"))
    store.close()
    damage_an_index_page(store.db_path)
    return store.data_dir


def test_the_data_is_shown_before_the_file_check_which_still_warns(qtbot, shown, damaged_folder,
                                                                   monkeypatch):
    """The full page check (0.6–1 s on a big file) is no longer on the way to the first
    screen: the list is shown, then the check runs behind it and says the file is damaged,
    with what to do."""
    from ui.photo_ingest import wait_off_ui_thread
    monkeypatch.setattr("ui.first_run.maybe_run_first_setup", lambda *a: None)
    monkeypatch.setattr(ui.app, "offer_resume", lambda *a: None)
    monkeypatch.setattr(ui.app, "check_document_font", lambda *a: None)
    window = ui.app.MainWindow()
    qtbot.addWidget(window)
    app = ExitRecorder()
    quitting = []
    app.aboutToQuit = SimpleNamespace(connect=quitting.append)
    ui.app.open_data(app, window, str(damaged_folder))
    assert window.store is not None and app.code is None  # the first screen, with its data
    qtbot.waitUntil(lambda: any(title == "数据库文件已损坏" for _k, title, _t in shown), timeout=20000)
    kind, _title, text = next(b for b in shown if b[1] == "数据库文件已损坏")
    assert kind == "critical" and "已损坏" in text and "复制保存" in text
    wait_off_ui_thread(5000)
    for hook in quitting:  # as the application does when it quits
        hook()


def test_a_command_still_refuses_the_damaged_file_before_it_starts(damaged_folder):
    """The commands keep the full check up front: one Chinese line, exit 2."""
    import subprocess
    proc = subprocess.run([sys.executable, "main.py", "status", "--json", "--data-dir",
                           str(damaged_folder)], cwd=REPO, capture_output=True, text=True,
                          encoding="utf-8", timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("错误：数据库文件已损坏") and len(proc.stderr.strip().splitlines()) == 1
