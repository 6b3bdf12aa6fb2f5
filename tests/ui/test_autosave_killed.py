"""The real application, killed (SIGKILL) a second after the inspector stopped typing a note
and a hazard's 整改要求, keeps every character: the next start resumes at the item and shows
the whole note."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from models.audit import verify_chain
from models.inspection import Answer, AnswerResult, Hazard
from models.inspection_rules import NewInspection, answer_item, inspection_items, start_inspection
from models.registry import AgencySettings, Inspector
from models.startup import start_store
from tests.conftest import make_enterprise

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 90

# Runs the application as `python main.py` does (ui.app.run_gui), and acts as the user: answers
# 继续检查 in the resume question, clicks into the note, types, and says TYPED. With `--read`
# it prints the note the resumed walk shows and quits.
DRIVER = r'''
import sys
from PySide6.QtCore import QTimer, Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

import ui.app
from ui.main_window import MainWindow
from ui.walk_page import WalkPage

data_dir, mode = sys.argv[1], sys.argv[2]
app = QApplication(sys.argv[:1])
done = False


def window():
    return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)


def step():
    global done
    box = app.activeModalWidget()
    if isinstance(box, QMessageBox):  # 继续未完成的检查？
        button = next(b for b in box.buttons() if b.text() == "继续检查")
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        return
    win = window()
    page = win.stack.currentWidget() if win else None
    if done or not isinstance(page, WalkPage) or not page.isVisible():
        return
    done = True
    if mode == "--read":
        print("NOTE", repr(page.note.toPlainText()), flush=True)
        app.quit()
        return
    QTest.mouseClick(page.note.viewport(), Qt.MouseButton.LeftButton)
    QTest.keyClick(page.note, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(page.note, " 2 bags, 3 mm")
    event = QInputMethodEvent()
    event.setCommitString("，梁上积尘未清")
    QApplication.sendEvent(page.note, event)
    rectification = page.hazard_panel.rectification
    QTest.mouseClick(rectification.viewport(), Qt.MouseButton.LeftButton)
    QTest.keyClick(rectification, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(rectification, " within 3 days")
    print("TYPED", flush=True)


timer = QTimer()
timer.timeout.connect(step)
timer.start(100)
sys.exit(ui.app.run_gui(data_dir))
'''


def _prepare(tmp_path) -> tuple[Path, object, str]:
    data_dir = tmp_path / "data"
    store = start_store(data_dir)
    with store.transaction() as s:
        s.add(AgencySettings(agency_name="湘乡市应急管理局", region_short="湘乡"))
        people = [Inspector(name="张卫东", certificate_no="43038120001"),
                  Inspector(name="李晓红", certificate_no="43038120002")]
        s.add_all(people)
        s.flush()
        team = [p.id for p in people]
    enterprise = make_enterprise(store)
    with store.transaction() as s:
        inspection_id = start_inspection(s, NewInspection(enterprise, team, "木工车间",
                                                          datetime.now(timezone.utc))).id
        item = inspection_items(s, inspection_id)[0]
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT, "Dust")
        item_id, rectification = item.id, item.rectification
    store.close()
    return data_dir, item_id, rectification


def _spawn(data_dir: Path, mode: str, log) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(data_dir), mode], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=log, text=True,
                            encoding="utf-8")


def _wait_for(proc: subprocess.Popen, word: str, log) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(word):
            return line
        if not line and proc.poll() is not None:
            break
    proc.kill()
    log.seek(0)
    pytest.fail(f"the application never said {word}: {log.read()[-2000:]}")


@pytest.mark.slow
def test_note_survives_sigkill_one_second_after_typing(tmp_path):
    """Type into the note of an answered item, pause one second, SIGKILL: every character is
    on disk, the audit chain is intact, and the restarted app shows the note."""
    data_dir, item_id, rectification = _prepare(tmp_path)
    with open(tmp_path / "child.log", "w+", encoding="utf-8") as log:
        proc = _spawn(data_dir, "--type", log)
        try:
            _wait_for(proc, "TYPED", log)
            time.sleep(1.0)  # the promise: on disk within one second of the last keystroke
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=TIMEOUT_S) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
        expected = "Dust 2 bags, 3 mm，梁上积尘未清"
        store = start_store(data_dir)
        try:
            with store.session() as s:
                assert s.scalar(select(Answer.note).where(Answer.item_id == item_id)) == expected
                assert s.scalar(select(Hazard.rectification)) == rectification + " within 3 days"
                assert verify_chain(s).intact
        finally:
            store.close()
        proc = _spawn(data_dir, "--read", log)
        try:
            line = _wait_for(proc, "NOTE", log)
            assert proc.wait(timeout=TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
    assert line.strip() == f"NOTE {expected!r}"
