"""执法计划 (office) and 待检任务 (laptop), driven like a user; stored results read back
through a separate sqlite3 connection."""
from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton

from models.planning import InspectorAvoidance
from models.registry import Inspector, RiskColour
from tests.conftest import make_enterprise, make_office, office_check_taken_out, valid_credit_code
from tests.ui.test_settings_dialogs import type_text, when_modal_opens
from ui.new_inspection_dialog import NewInspectionDialog
from ui.plan_dialogs import CreatePlanDialog, DrawDialog
from ui.plan_models import OpenTaskModel
from ui.plan_page import PlanPage
from ui.style import RED
from ui.tasks_panel import TasksPanel

COLOURS = [RiskColour.RED] * 2 + [RiskColour.ORANGE] * 3 + [RiskColour.YELLOW] * 5 + \
    [RiskColour.BLUE] * 5


@pytest.fixture
def register(store):
    """15 enterprises in two townships, five inspectors (one away), one township 回避 (the
    office's 名录库: written with the office check taken out, as on a laptop an import
    leaves it; the office's tests make the store the office's afterwards)."""
    firms = [make_enterprise(store, name=f"测试企业{n:02d}有限公司",
                             credit_code=valid_credit_code(f"91430381MA4U{n:05d}"),
                             risk_colour=colour, risk_reason="测试：按给定等级",
                             township=("月山镇", "壶天镇")[n % 2])
             for n, colour in enumerate(COLOURS)]
    with office_check_taken_out(), store.transaction() as s:
        people = [Inspector(name=f"执法员{n}", certificate_no=f"4303812300{n}") for n in range(5)]
        people[4].available = False
        people[4].unavailable_reason = "病假"
        s.add_all(people)
        s.flush()
        s.add(InspectorAvoidance(inspector_id=people[0].id, township="月山镇", reason="曾挂职"))
        return firms, [p.id for p in people]


def db(store, sql, params=()):
    con = sqlite3.connect(store.db_path)
    try:
        rows = con.execute(sql, params).fetchall()
        con.commit()
        return rows
    finally:
        con.close()


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_row(qtbot, table, row: int, col: int = 0) -> None:
    rect = table.visualRect(table.model().index(row, col))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.fixture
def page(qtbot, store, register, clock):
    make_office(store)  # 执法计划 is the office's page
    p = PlanPage(store)
    qtbot.addWidget(p)
    p.resize(1176, 720)
    p.show()
    p.year.selectAll()
    qtbot.keyClicks(p.year, "2027")
    return p


def create_with_focus(qtbot, page, search: str) -> CreatePlanDialog:
    click(qtbot, page.create_button)
    dialog = page.dialog
    assert isinstance(dialog, CreatePlanDialog)
    type_text(qtbot, dialog.search, search)
    assert dialog.proxy.rowCount() == 1
    click_row(qtbot, dialog.table, 0)
    assert dialog.count.text() == "已选重点检查企业 1 家"
    click(qtbot, dialog.create_button)
    return dialog


def draw_with(qtbot, page, seed: str | None, reason: str = "", redraw=False) -> DrawDialog:
    click(qtbot, page.redraw_button if redraw else page.draw_button)
    dialog = page.dialog
    assert isinstance(dialog, DrawDialog)
    if seed is not None:
        dialog.seed.selectAll()
        type_text(qtbot, dialog.seed, seed)
    if reason:
        type_text(qtbot, dialog.reason, reason)
    click(qtbot, dialog.next_button)
    if dialog.pages.currentIndex() == 1:
        click(qtbot, dialog.confirm_button)
    return dialog


def test_create_a_plan_with_a_focus_enterprise_picked_from_the_search(qtbot, page, store, register):
    """The year has no plan; 编制 with one ticked 重点检查 firm stores it and shows the months."""
    firms, _people = register
    assert "尚未编制" in page.state.text() and not page.draw_button.isEnabled()
    dialog = create_with_focus(qtbot, page, "测试企业07")
    assert not dialog.isVisible()
    [(year, focus)] = db(store, "select year, focus_json from inspection_plan")
    assert (year, json.loads(focus)) == (2027, [str(firms[7])])
    assert page.months.rowCount() == 12
    total = sum(int(page.months.index(r, 1).data()) for r in range(12))
    assert f"全年 {total} 家次" in page.state.text()
    assert page.focus_label.text() == "重点检查：测试企业07有限公司"
    assert page.draw_button.text() == "抽取第 1 轮…" and not page.create_button.isEnabled()


def test_too_many_focus_firms_are_refused_in_the_dialog(qtbot, page, store):
    """Ticking nearly everything breaks the 70 % rule: the dialog says why; nothing stored."""
    click(qtbot, page.create_button)
    dialog = page.dialog
    for row in range(dialog.proxy.rowCount()):
        click_row(qtbot, dialog.table, row)
    click(qtbot, dialog.create_button)
    assert dialog.isVisible() and "低于规定的 70%" in dialog.problems.text()
    assert db(store, "select count(*) from inspection_plan") == [(0,)]


def test_draw_with_a_typed_seed_shows_tasks_and_exclusions(qtbot, page, store):
    """The seed comes from the system (重新生成 changes it); a witness's seed typed instead
    is the one stored; the page shows the drawn team and why people were left out."""
    create_with_focus(qtbot, page, "测试企业07")
    click(qtbot, page.draw_button)
    dialog = page.dialog
    first = dialog.seed.text()
    assert len(first) == 16 and int(first, 16) >= 0
    click(qtbot, dialog.regenerate)
    assert dialog.seed.text() != first
    click(qtbot, dialog.cancel_button)
    assert not dialog.isVisible()
    assert db(store, "select count(*) from plan_draw") == [(0,)]
    dialog = draw_with(qtbot, page, "见证人抽签 0427")
    assert not dialog.isVisible()
    assert "从企业名录 15 家中" in dialog.summary.text() and "在岗执法人员 4 名" in dialog.summary.text()
    [(seed, result)] = db(store, "select seed, result_json from plan_draw")
    assert seed == "见证人抽签 0427"
    assert page.tasks.rowCount() == len(json.loads(result)) > 0
    shown = {page.exclusions.index(r, 1).data() for r in range(page.exclusions.rowCount())}
    assert "不在岗（不可抽取）" in shown and "回避（月山镇）：曾挂职" in shown
    teams = [page.tasks.index(r, 2).data() for r in range(page.tasks.rowCount())]
    assert all("执法员4" not in t for t in teams)
    assert "抽取完成" in page.result.text() and page.draw_button.text() == "抽取第 2 轮…"


def test_an_empty_seed_is_refused_before_confirming(qtbot, page, store):
    create_with_focus(qtbot, page, "测试企业07")
    click(qtbot, page.draw_button)
    dialog = page.dialog
    dialog.seed.selectAll()
    qtbot.keyClick(dialog.seed, Qt.Key.Key_Delete)
    click(qtbot, dialog.next_button)
    assert dialog.pages.currentIndex() == 0 and "随机种子不能为空" in dialog.seed_error.text()
    assert db(store, "select count(*) from plan_draw") == [(0,)]


def test_a_redraw_needs_a_reason_and_keeps_the_old_draw(qtbot, page, store):
    """重抽 without a reason stops at the seed step; with one, both draws are stored and
    the old one is listed as replaced."""
    create_with_focus(qtbot, page, "测试企业07")
    draw_with(qtbot, page, "first")
    dialog = draw_with(qtbot, page, "second", redraw=True)
    assert dialog.isVisible() and "必须说明理由" in dialog.seed_error.text()
    dialog.reject()
    assert db(store, "select count(*) from plan_draw") == [(1,)]
    draw_with(qtbot, page, "second", reason="抽取时纪检监督人员未到场", redraw=True)
    rows = db(store, "select seed, reason, replaces_id from plan_draw order by seed")
    assert [(r[0], r[1], r[2] is not None) for r in rows] == [
        ("first", "", False), ("second", "抽取时纪检监督人员未到场", True)]
    titles = [page.draw_choice.itemText(i) for i in range(page.draw_choice.count())]
    assert "（重抽）" in titles[0] and "已被重抽取代" in titles[1]
    assert "重抽理由：抽取时纪检监督人员未到场" in page.draw_note.text()
    page.draw_choice.setCurrentIndex(1)
    assert not page.redraw_button.isEnabled()  # a replaced draw is not redrawn again


def test_verify_passes_then_catches_a_tampered_result(qtbot, page, store):
    create_with_focus(qtbot, page, "测试企业07")
    draw_with(qtbot, page, "abc")
    click(qtbot, page.verify_button)
    assert page.result.text().startswith("核验通过")
    [(draw_id, result)] = db(store, "select id, result_json from plan_draw")
    tasks = json.loads(result)
    tasks[0]["inspector_ids"].reverse()
    db(store, "update plan_draw set result_json = ? where id = ?",
       (json.dumps(tasks, ensure_ascii=False, separators=(",", ":"), sort_keys=True), draw_id))
    click(qtbot, page.verify_button)
    assert page.result.text().startswith("核验不通过") and "结果被改动" in page.result.text()


@pytest.mark.parametrize("suffix", [".xlsx", ".pdf"])
def test_publish_says_where_the_file_went(qtbot, page, store, tmp_path, suffix):
    create_with_focus(qtbot, page, "测试企业07")
    draw_with(qtbot, page, "abc")
    out = tmp_path / f"公示{suffix}"
    page.ask_publish_path = lambda: str(out)
    click(qtbot, page.publish_button)
    assert out.exists() and page.result.text().endswith(str(out))
    if suffix == ".xlsx":
        text = " ".join(str(c.value) for row in load_workbook(out).active.iter_rows() for c in row)
        assert "abc" in text  # the seed is published with the method


def test_progress_counts_overdue_tasks(qtbot, page, store, clock):
    create_with_focus(qtbot, page, "测试企业07")
    draw_with(qtbot, page, "abc")
    drawn = page.tasks.rowCount()
    clock.advance(days=200)  # May 2027: round 1 (by March) overdue, the focus task (December) due
    page.refresh()
    total = [page.progress.index(0, c).data() for c in range(4)]
    assert total == ["合计", "0", "1", str(drawn)]
    assert page.progress.index(0, 3).data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)


# ---- the laptop ------------------------------------------------------------------------------

class FakeMainWindow:
    def __init__(self) -> None:
        self.started = []

    def start_task(self, task) -> None:
        self.started.append(task)


def _drawn_plan(store, seed="abc"):
    """The office's plan with round 4 drawn, as the office's bundle leaves it on a laptop."""
    from models.plan_rules import create_plan, draw_round
    with office_check_taken_out(), store.transaction() as s:
        plan = create_plan(s, 2026, [])
        draw_round(s, plan.id, seed, rnd=4)
    return plan.id


def test_tasks_panel_lists_tasks_and_marks_overdue_in_red(qtbot, store, register, clock):
    _drawn_plan(store)
    main = FakeMainWindow()
    panel = TasksPanel(store, main)
    qtbot.addWidget(panel)
    n = db(store, "select count(*) from plan_task")[0][0]
    assert panel.model.rowCount() == n and panel.summary.text() == f"共 {n} 项"
    due = panel.model.index(0, OpenTaskModel.COL_DUE)
    assert due.data() == "2026 年 10–12 月，12 月底前"
    assert due.data(Qt.ItemDataRole.ForegroundRole) is None
    clock.advance(days=40)  # 2026-12-12 → still due; into January: overdue
    clock.advance(days=30)
    panel.refresh()
    assert panel.model.index(0, OpenTaskModel.COL_DUE).data().endswith("（已逾期）")
    assert panel.model.index(0, 0).data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)
    assert f"其中逾期 {n} 项" in panel.summary.text()
    click(qtbot, panel.start_button)
    assert main.started == [panel.model.rows[0]]


def test_starting_from_a_task_prefills_and_links_the_inspection(qtbot, store, register):
    """新建检查 from a task: its enterprise and drawn team are chosen, the checklists are the
    enterprise's; 开始检查 stores the inspection with the task's id, and the task leaves the list."""
    from models.plan_rules import open_tasks
    _drawn_plan(store)
    with store.session() as s:
        task = open_tasks(s, store.clock().date())[0]
    dialog = NewInspectionDialog(store, None, enterprise_id=task.enterprise_id,
                                 team=task.inspector_ids, task_id=task.id)
    qtbot.addWidget(dialog)
    assert dialog.enterprise.id == task.enterprise_id
    assert dialog.team.checked == task.inspector_ids
    assert f"执法人员（{'、'.join(task.team)}）按任务预填" in dialog.task_note.text()
    assert dialog.chosen_checklists() == ["dust", "general"]  # the firm is 涉粉
    type_text(qtbot, dialog.place, "生产车间")
    click(qtbot, dialog.start_button)
    assert dialog.result() == dialog.DialogCode.Accepted
    [(task_id,)] = db(store, "select task_id from inspection")
    assert uuid.UUID(task_id) == task.id
    panel = TasksPanel(store, FakeMainWindow())
    qtbot.addWidget(panel)
    assert task.enterprise not in {r.enterprise for r in panel.model.rows if r.id == task.id}
    assert all(r.id != task.id for r in panel.model.rows)


def test_main_window_opens_plan_and_tasks_pages(qtbot, store, register):
    from ui.main_window import MainWindow
    from ui.new_inspection_dialog import NewInspectionDialog as Dialog
    make_office(store)  # 执法计划 is shown at the office only
    _drawn_plan(store)
    window = MainWindow(store)
    qtbot.addWidget(window)
    click(qtbot, window.findChild(QPushButton, "nav_plan"))
    assert isinstance(window.stack.currentWidget(), PlanPage)
    click(qtbot, window.findChild(QPushButton, "nav_tasks"))
    panel = window.stack.currentWidget()
    assert isinstance(panel, TasksPanel) and panel.model.rowCount() > 0
    seen = when_modal_opens(lambda d: d.reject())
    click(qtbot, panel.start_button)
    assert isinstance(seen[0], Dialog) and seen[0].task_id == panel.model.rows[0].id


def test_focus_list_ticks_once_wherever_the_row_is_clicked_or_space_pressed(qtbot, page):
    """A click on the check box itself, on the name, on the township, or Space on the row
    each tick the firm exactly once; a second click unticks it."""
    click(qtbot, page.create_button)
    dialog = page.dialog
    table = dialog.table
    box = table.visualRect(dialog.proxy.index(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=box.topLeft() + QPoint(12, box.height() // 2))  # on the indicator
    assert dialog.count.text() == "已选重点检查企业 1 家"
    click_row(qtbot, table, 0, 2)
    assert dialog.count.text() == "已选重点检查企业 0 家"
    click_row(qtbot, table, 1, 0)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert dialog.count.text() == "已选重点检查企业 2 家"


@pytest.mark.parametrize("suffix", [".xlsx", ".pdf"])
def test_publish_where_no_file_can_go_says_what_to_do(qtbot, page, tmp_path, suffix):
    """A "folder" that is a file: one Chinese message with what to do, no file, no crash."""
    create_with_focus(qtbot, page, "测试企业07")
    (tmp_path / "一个文件").write_text("x")
    out = tmp_path / "一个文件" / f"公示{suffix}"
    page.ask_publish_path = lambda: str(out)
    said = []
    when_modal_opens(lambda box: (said.append((box.text(), box.informativeText())), box.reject()))
    click(qtbot, page.publish_button)
    assert said and said[0][0].startswith("无法写入") and "可写" in said[0][1]
    assert (tmp_path / "一个文件").read_text() == "x"
    assert "已保存" not in page.result.text()
