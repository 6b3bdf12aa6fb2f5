"""The office page (办公室), acting as a clerk: it shows only at the office; major hazards
overdue first; statistics; the period and the search filter; 交办 and 重新交办 through the
dialog, read back through a second connection; the 通报 exported through the file dialog."""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton
from sqlalchemy import create_engine, select

from models.assignment import HazardAssignment
from models.assignment_rules import ASSIGNED
from models.demo import build_demo
from models.inspection import Hazard, HazardStatus
from models.office_views import major_hazards
from models.registry import Enterprise
from tests.conftest import make_office
from tests.sync.conftest import DEMO_NOW
from tests.ui.test_enterprise_page import type_chinese
from tests.ui.test_settings_dialogs import when_modal_opens
from ui.main_window import MainWindow
from ui.office_models import MajorHazardTableModel
from ui.office_page import SEARCH_DELAY_MS, OfficePage

LATER = DEMO_NOW + timedelta(days=30)  # 2026-12-20: two orders' deadlines have passed
TOWNSHIP = "湘乡市月山镇人民政府"


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_row(qtbot, table, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def stored_assignments(store) -> list[dict]:
    """What a second connection (its own engine) reads."""
    engine = create_engine(store.engine.url)
    try:
        with engine.connect() as conn:
            table = HazardAssignment.__table__
            return [dict(r) for r in conn.execute(select(table).order_by(table.c.created_at))
                    .mappings()]
    finally:
        engine.dispose()


@pytest.fixture
def demo(store):
    build_demo(store, now=DEMO_NOW)
    with store.transaction() as s:  # two townships for the statistics
        first = major_hazards(s, LATER.date())[0].enterprise_id
        for firm in s.scalars(select(Enterprise)):  # through the models: audited
            firm.township = "经济开发区" if firm.id == first else "月山镇"
    store.clock = lambda: LATER
    return store


@pytest.fixture
def office(demo):
    make_office(demo)
    return demo


def settled(qtbot, page) -> None:
    """What a clerk waits for: the counts the page says it is making (on worker threads), shown."""
    qtbot.waitUntil(lambda: page.idle, timeout=15000)


@pytest.fixture
def page(qtbot, office):
    widget = OfficePage(office)
    widget.resize(1176, 700)
    qtbot.addWidget(widget)
    widget.show()
    settled(qtbot, widget)
    return widget


def show_statistics(qtbot, page) -> None:
    """A click on the 分类统计 tab."""
    bar = page.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    assert page.tabs.currentWidget() is page.stats_tab
    settled(qtbot, page)


def rows(page):
    return [page.model.ledger_row(n) for n in range(page.model.rowCount())]


def test_the_page_shows_only_at_the_office(qtbot, demo, tmp_path):
    """A laptop's window has no 办公室 button; the office's has, and it opens the page."""
    laptop = MainWindow(demo)
    qtbot.addWidget(laptop)
    laptop.show()
    assert laptop.findChild(QPushButton, "nav_office").isHidden()
    make_office(demo)
    window = MainWindow(demo)
    qtbot.addWidget(window)
    window.resize(1366, 740)
    window.show()
    button = window.findChild(QPushButton, "nav_office")
    assert not button.isHidden()
    click(qtbot, button)
    assert isinstance(window.stack.currentWidget(), OfficePage)
    settled(qtbot, window.stack.currentWidget())
    assert window.stack.currentWidget().model.rowCount() > 0


def test_major_hazards_overdue_first_with_statistics(qtbot, page):
    """This year's major hazards, the most overdue on top; the tallies add up to the ledger."""
    shown = rows(page)
    assert shown and all(r.is_major for r in shown)
    assert shown[0].days_overdue > 0
    late = [max(r.days_overdue, r.assignment_days_overdue) for r in shown if r.closed_on is None]
    assert late == sorted(late, reverse=True)
    assert f"重大事故隐患 <b>{len(shown)}</b> 项" in page.summary.text()
    assert all(not m.rows for m in page.tallies.values())  # counted once their tab is shown
    show_statistics(qtbot, page)
    totals = {key: sum(t.hazards for t in model.rows) for key, model in page.tallies.items()}
    assert len(set(totals.values())) == 1 and totals["area"] > 0
    assert {t.label for t in page.tallies["township"].rows} == {"经济开发区", "月山镇"}
    assert all(t.label in ("粉尘防爆", "有限空间作业", "涉氨制冷", "通用")
               for t in page.tallies["area"].rows)


def choose_period(qtbot, page, name: str) -> None:
    """Arrow keys on the period box, as a clerk moves through it."""
    from ui.office_page import PERIODS
    page.period.setFocus()
    steps = PERIODS.index(name) - page.period.currentIndex()
    for _ in range(abs(steps)):
        qtbot.keyClick(page.period, Qt.Key.Key_Down if steps > 0 else Qt.Key.Key_Up)
    assert page.period.currentText() == name
    settled(qtbot, page)


def test_the_period_filters_list_and_statistics(qtbot, page):
    """本月 (December: no demo inspection) empties both; 上月 (November) leaves out October's
    hazard; back to 本年 brings them all back; a typed end date makes it 自定义."""
    before = page.model.rowCount()
    show_statistics(qtbot, page)
    choose_period(qtbot, page, "本月")
    assert page.model.rowCount() == 0
    assert all(not m.rows for m in page.tallies.values())
    choose_period(qtbot, page, "上月")
    assert 0 < page.model.rowCount() < before
    assert all(r.found_on.month == 11 for r in rows(page))
    assert [t.label for t in page.tallies["month"].rows] == ["2026-11"]
    choose_period(qtbot, page, "本年")
    assert page.model.rowCount() == before
    page.found_to.setFocus()
    qtbot.keyClick(page.found_to, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(page.found_to, "2026-01-31")
    settled(qtbot, page)
    assert page.period.currentText() == "自定义" and page.model.rowCount() == 0


def test_search_after_the_typing_pause(qtbot, page):
    """Typing an enterprise's name filters the list once typing pauses."""
    first = rows(page)[0].enterprise
    others = {r.enterprise for r in rows(page)} - {first}
    type_chinese(page.search, first[3:7])
    assert page.model.rowCount() == len(rows(page))  # not yet: the pause has not passed
    qtbot.wait(SEARCH_DELAY_MS + 200)
    settled(qtbot, page)
    assert {r.enterprise for r in rows(page)} == {first} or not others


def _fill_and_accept(qtbot, page, to: str, days: int, note: str) -> None:
    dialog = page.assign_dialog
    assert dialog is not None and dialog.isVisible()
    line = dialog.assignee.lineEdit()
    line.selectAll()
    qtbot.keyClick(line, Qt.Key.Key_Delete)
    type_chinese(line, to)
    target = page.store.clock().date() + timedelta(days=days)
    dialog.deadline.setFocus()
    # The whole date typed over the old one, as a clerk does with the keyboard.
    qtbot.keyClick(dialog.deadline, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.deadline, target.isoformat())
    assert dialog.deadline.date().toPython() == target
    type_chinese(dialog.note, note)
    click(qtbot, dialog.ok)


def test_assign_then_reassign_through_the_dialog(qtbot, page, office):
    """交办… on the top row: unit, deadline and note are stored; the list shows 已交办. Again:
    a second record replacing the first, which stays as it was."""
    click_row(qtbot, page.table, 0)
    target = rows(page)[0]
    click(qtbot, page.assign_button)
    _fill_and_accept(qtbot, page, TOWNSHIP, 20, "请镇安监站督促企业停止使用相关设施")
    qtbot.waitUntil(lambda: not page.assign_dialog.isVisible())
    settled(qtbot, page)
    stored = stored_assignments(office)
    assert [(a["hazard_id"], a["assignee"], a["note"], a["replaces_id"]) for a in stored] == [
        (target.id, TOWNSHIP, "请镇安监站督促企业停止使用相关设施", None)]
    assert stored[0]["deadline"] == LATER.date() + timedelta(days=20)
    shown = next(r for r in rows(page) if r.id == target.id)
    assert shown.assignment_state == ASSIGNED
    assert page.selected_id() == target.id and "交办：" + TOWNSHIP in page.detail.text()
    n = [r.id for r in rows(page)].index(target.id)
    assert page.model.index(n, MajorHazardTableModel.COL_ASSIGNEE).data() == TOWNSHIP
    assert page.assign_button.text().startswith("重新交办")
    click(qtbot, page.assign_button)
    dialog = page.assign_dialog
    assert "原交办保留" in dialog.windowTitle() and TOWNSHIP in dialog.findChildren(
        type(page.summary))[-1].text()
    _fill_and_accept(qtbot, page, "湘乡市工业和信息化局", 40, "改由工信局督办")
    qtbot.waitUntil(lambda: not dialog.isVisible())
    settled(qtbot, page)
    stored = stored_assignments(office)
    assert [a["assignee"] for a in stored] == [TOWNSHIP, "湘乡市工业和信息化局"]
    assert stored[1]["replaces_id"] == stored[0]["id"]
    assert stored[0]["deadline"] == LATER.date() + timedelta(days=20)  # the first unchanged


def test_an_empty_unit_is_refused_and_the_dialog_stays(qtbot, page, office):
    """No unit: the reason is shown, the dialog keeps what was typed, nothing stored."""
    click_row(qtbot, page.table, 0)
    click(qtbot, page.assign_button)
    dialog = page.assign_dialog
    type_chinese(dialog.note, "说明已写")
    seen = when_modal_opens(lambda box: (seen_text.append(box.text() + box.informativeText()),
                                         box.accept()))
    seen_text: list[str] = []
    click(qtbot, dialog.ok)
    qtbot.waitUntil(lambda: bool(seen))
    assert isinstance(seen[0], QMessageBox) and "责任单位" in seen_text[0]
    assert dialog.isVisible() and dialog.note.toPlainText() == "说明已写"
    assert stored_assignments(office) == []
    dialog.reject()


def test_a_closed_hazard_cannot_be_assigned(qtbot, page, office):
    """A hazard closed off (已销号) is listed last and the 交办 button stays off for it."""
    with office.transaction() as s:
        hazard = s.get(Hazard, rows(page)[0].id)
        hazard.status, hazard.closed_at = HazardStatus.CLOSED, LATER
    page.refresh()
    settled(qtbot, page)
    last = page.model.rowCount() - 1
    assert page.model.ledger_row(last).closed_on is not None
    click_row(qtbot, page.table, last)
    assert not page.assign_button.isEnabled()


@pytest.mark.parametrize("kind", ["xlsx", "pdf"])
def test_the_report_is_exported_through_the_file_dialog(qtbot, page, tmp_path, kind):
    """导出通报: the clerk names the file in the dialog; the 通报 of the period is written."""
    out = tmp_path / f"通报.{kind}"

    def choose(dialog):
        assert isinstance(dialog, QFileDialog)
        dialog.selectFile(str(out))
        dialog.accept()
    when_modal_opens(choose)
    with qtbot.waitSignal(page.exported, timeout=30000) as written:
        click(qtbot, page.xlsx_button if kind == "xlsx" else page.pdf_button)
    n = page.model.rowCount()
    assert written.args == [n] and page.pdf_button.isEnabled()
    if kind == "xlsx":
        assert load_workbook(out)["重大事故隐患通报"].max_row == 3 + n
    else:
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert f"共排查出重大事故隐患 {n} 项" in text.replace("\n", "")
    page.export_box.accept()


def test_the_ledger_shows_the_assignment_in_force(qtbot, office):
    """After 交办 the 隐患台账 page shows the unit in its column and unit, deadline and state in
    the detail line and the 一单四制 dialog (which has no field to change it)."""
    from models.assignment_rules import assign_hazard
    from ui.ledger_models import LedgerTableModel
    from ui.ledger_page import LedgerPage
    with office.session() as s:
        target = major_hazards(s, LATER.date())[0]
    with office.transaction(actor="办公室") as s:
        assign_hazard(s, target.id, to=TOWNSHIP, deadline=LATER.date() + timedelta(days=9))
    ledger = LedgerPage(office, None)
    qtbot.addWidget(ledger)
    ledger.show()
    click(qtbot, ledger.major_only)
    n = next(i for i in range(ledger.model.rowCount())
             if ledger.model.index(i, 0).data(Qt.ItemDataRole.UserRole) == target.id)
    click_row(qtbot, ledger.table, n)
    assert ledger.model.index(n, LedgerTableModel.COL_ASSIGNED).data() == TOWNSHIP
    deadline = (LATER.date() + timedelta(days=9)).isoformat()
    assert f"交办 {TOWNSHIP}，期限 {deadline}（已交办）" in ledger.detail.text()
    click(qtbot, ledger.tracking_button)
    assert ledger.tracking_dialog.assigned.text() == f"{TOWNSHIP}，期限 {deadline}（已交办）"
    ledger.tracking_dialog.reject()


def test_a_long_list_shows_the_most_urgent_and_says_so(qtbot, office, monkeypatch):
    """Past the screen's limit the most urgent rows are listed, the counts cover them all."""
    monkeypatch.setattr("ui.office_page.LIST_LIMIT", 2)
    page = OfficePage(office)
    qtbot.addWidget(page)
    settled(qtbot, page)
    with office.session() as s:
        everything = major_hazards(s, LATER.date(), date(2026, 1, 1), LATER.date())
    assert page.model.rowCount() == 2
    assert [r.id for r in rows(page)] == [r.id for r in everything[:2]]
    assert f"重大事故隐患 <b>{len(everything)}</b> 项（列出最紧迫的 2 项" in page.summary.text()


def test_an_export_that_cannot_be_written_is_told(qtbot, page, tmp_path):
    """A folder that does not exist: one Chinese message, the buttons work again."""
    said = []
    when_modal_opens(lambda box: (said.append(box.text()), box.accept()))
    worker = page.export_to(tmp_path / "no-such-folder" / "通报.pdf", "pdf")
    assert not page.pdf_button.isEnabled()  # one export at a time, the page stays live
    qtbot.waitUntil(lambda: bool(said), timeout=30000)
    worker.wait()
    assert "无法写入" in said[0] and page.pdf_button.isEnabled()


def test_the_page_stays_live_while_it_counts(qtbot, page, monkeypatch):
    """A slow count (a city's million hazards) runs behind the page: the page says it is
    counting and takes the clerk's keys meanwhile; a search typed during an earlier count
    shows its own answer, the earlier one dropped whichever ends first."""
    import threading
    import time

    import ui.office_page as office_page
    held, real = threading.Event(), office_page.major_summary

    def slow_summary(*args, **kwargs):
        held.wait(10)  # until the test lets the count end
        return real(*args, **kwargs)
    monkeypatch.setattr(office_page, "major_summary", slow_summary)
    first = rows(page)[0].enterprise
    others = {r.enterprise for r in rows(page)} - {first}
    began = time.monotonic()
    choose_period_keys = (Qt.Key.Key_Up, Qt.Key.Key_Down)  # 本年 → 本季度 → 本年: two counts
    page.period.setFocus()
    for key in choose_period_keys:
        qtbot.keyClick(page.period, key)
    assert time.monotonic() - began < 1.0  # not waiting for the count
    assert "正在查询" in page.summary.text() and not page.idle
    type_chinese(page.search, first[3:7])
    assert page.search.text() == first[3:7]
    qtbot.wait(SEARCH_DELAY_MS + 200)  # the search's count is asked for too
    held.set()
    settled(qtbot, page)
    assert "正在查询" not in page.summary.text()
    assert {r.enterprise for r in rows(page)} == {first} or not others
    assert f"重大事故隐患 <b>{len(rows(page))}</b> 项" in page.summary.text()


def test_leaving_the_page_while_it_counts_does_not_wait(qtbot, office, monkeypatch):
    """The clerk goes to 隐患台账 while the 办公室 counts are still running: the window
    switches at once (only a 通报 being written is waited for); closing it later waits."""
    import threading
    import time

    import ui.office_page as office_page
    held, real = threading.Event(), office_page.major_summary

    def slow_summary(*args, **kwargs):
        held.wait(10)
        return real(*args, **kwargs)
    window = MainWindow(office)
    qtbot.addWidget(window)
    window.resize(1366, 740)
    window.show()
    click(qtbot, window.findChild(QPushButton, "nav_office"))
    page = window.stack.currentWidget()
    settled(qtbot, page)
    monkeypatch.setattr(office_page, "major_summary", slow_summary)
    page.period.setFocus()
    qtbot.keyClick(page.period, Qt.Key.Key_Up)  # another period: a count, held
    assert not page.idle
    began = time.monotonic()
    click(qtbot, window.findChild(QPushButton, "nav_ledger"))
    assert time.monotonic() - began < 2.0
    assert window.stack.currentWidget() is not page
    held.set()
    window.close()  # waits for the count: a thread must end before its page goes
    assert not any(worker.isRunning() for worker in page._workers)


def test_a_search_typed_during_a_slow_count_runs_one_query_at_a_time(qtbot, page, monkeypatch):
    """A clerk types a name a character at a time, pausing past the search delay after each,
    while the database is slow: one count runs, and only the latest search waits behind it
    (the ones typed meanwhile are never asked) — not one query per character piling up on
    the database. Typed fast, the ten keys ask one. What is shown answers the last text."""
    import threading

    import ui.office_page as office_page
    held, real, started = threading.Event(), office_page.major_hazards, []

    def slow_list(*args, **kwargs):
        started.append(args[4] if len(args) > 4 else kwargs.get("search"))
        held.wait(10)
        return real(*args, **kwargs)
    first = rows(page)[0].enterprise
    name = first[3:9]
    monkeypatch.setattr(office_page, "major_hazards", slow_list)
    try:
        page.search.setFocus()
        qtbot.keyClicks(page.search, "ABCDEFGHIJ")  # fast: one query once typing pauses
        qtbot.wait(SEARCH_DELAY_MS + 200)
        assert started == ["ABCDEFGHIJ"]
        qtbot.keyClick(page.search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(page.search, Qt.Key.Key_Delete)
        for character in name:  # slow, while the first count is held: committed one by one
            type_chinese(page.search, character)
            qtbot.wait(SEARCH_DELAY_MS + 50)
        assert len(started) == 1 and not page.idle and "正在查询" in page.summary.text()
    finally:  # (a failure above must not leave the count running as the page goes)
        held.set()
    settled(qtbot, page)
    assert started == ["ABCDEFGHIJ", name]
    assert rows(page) and {r.enterprise for r in rows(page)} == {first}
    assert f"重大事故隐患 <b>{len(rows(page))}</b> 项" in page.summary.text()


def test_periods_chosen_during_a_slow_statistics_count_run_one_at_a_time(qtbot, page,
                                                                         monkeypatch):
    """On 分类统计, the clerk steps through five periods with the arrow keys while the
    statistics are slow: one statistics count runs and only the last period's waits behind
    it; the tallies shown are that period's (上月: November)."""
    import threading

    import ui.office_page as office_page
    held, real, started = threading.Event(), office_page.office_statistics, []

    def slow_statistics(session, today, flt):
        started.append((flt.found_from, flt.found_to))
        held.wait(10)
        return real(session, today, flt)
    show_statistics(qtbot, page)
    monkeypatch.setattr(office_page, "office_statistics", slow_statistics)
    try:
        page.period.setFocus()
        for key in ("Up", "Up", "Down", "Down", "Down"):  # 本季度 本月 本季度 本年 上月
            qtbot.keyClick(page.period, getattr(Qt.Key, f"Key_{key}"))
        qtbot.wait(200)
        assert len(started) == 1 and not page.idle
    finally:
        held.set()
    settled(qtbot, page)
    assert page.period.currentText() == "上月"
    assert started == [started[0], page.period_range()]
    assert page.stats_state.text() == ""
    assert [t.label for t in page.tallies["month"].rows] == ["2026-11"]
