"""Who sees what of the plan: 执法计划 only at the office; a laptop's 待检任务 are its own
inspectors' unless the user asks for all. Driven like a user; stored rows read back through
a separate sqlite3 connection."""
from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from documents.keys import create_inspector_identity
from tests.conftest import make_office, office_check_taken_out
from tests.ui.test_plan_page import FakeMainWindow, _drawn_plan, click, db, register  # noqa: F401
from ui.main_window import MainWindow
from ui.plan_page import PlanPage
from ui.tasks_panel import TasksPanel


def give_key(store, inspector_id, name="执法员") -> None:
    """The inspector makes their signing key on this laptop (设置 → 执法人员 → 生成签名证书)."""
    create_inspector_identity(store.data_dir, inspector_id, name, "43038129999",
                              "signing-pass-1", "湘乡市应急管理局")


def test_a_laptop_has_no_plan_page_the_office_has(qtbot, store, register):
    """Without the agency's CA the 执法计划 button is hidden and its page never opens;
    after `agency create` the same store shows it."""
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    nav_plan = window.findChild(QPushButton, "nav_plan")
    assert not nav_plan.isVisible()
    assert window.findChild(QPushButton, "nav_tasks").isVisible()
    window.show_plan()
    assert not isinstance(window.stack.currentWidget(), PlanPage)
    make_office(store)
    office = MainWindow(store)
    qtbot.addWidget(office)
    office.show()
    assert office.findChild(QPushButton, "nav_plan").isVisible()
    click(qtbot, office.findChild(QPushButton, "nav_plan"))
    assert isinstance(office.stack.currentWidget(), PlanPage)


def _all_rounds(store):
    """The office's plan with its four rounds drawn, as the office's bundle leaves it here."""
    from models.plan_rules import create_plan, draw_round
    with office_check_taken_out(), store.transaction() as s:
        plan = create_plan(s, 2026, [])
        for rnd in range(1, 5):
            draw_round(s, plan.id, f"seed-{rnd}", rnd=rnd)


def _teams(store):
    return [json.loads(ids) for ids, in db(store, "select inspector_ids from plan_task "
                                                  "where cancelled = 0")]


def test_the_laptop_lists_only_its_own_inspectors_tasks_until_asked_for_all(qtbot, store,
                                                                           register):
    """With a key for one inspector on this laptop, 待检任务 lists exactly the tasks whose
    team includes them; ticking 显示全部任务 lists every open task, unticking narrows again."""
    _firms, people = register
    _all_rounds(store)
    teams = _teams(store)
    me = people[1]
    expected = sum(str(me) in team for team in teams)
    assert 0 < expected < len(teams)  # the test means something only if some are not mine
    give_key(store, me, "执法员1")
    panel = TasksPanel(store, FakeMainWindow())
    qtbot.addWidget(panel)
    panel.show()
    assert panel.model.rowCount() == expected
    assert all(me in row.inspector_ids for row in panel.model.rows)
    assert "执法员1" in panel.scope.text() and panel.show_all.isVisible()
    qtbot.mouseClick(panel.show_all, Qt.MouseButton.LeftButton)
    assert panel.show_all.isChecked() and panel.model.rowCount() == len(teams)
    qtbot.mouseClick(panel.show_all, Qt.MouseButton.LeftButton)
    assert panel.model.rowCount() == expected


def test_a_laptop_with_no_inspector_known_shows_every_task_and_says_why(qtbot, store, register):
    _drawn_plan(store)
    panel = TasksPanel(store, FakeMainWindow())
    qtbot.addWidget(panel)
    panel.show()
    assert panel.model.rowCount() == len(_teams(store))
    assert "显示本计划的全部任务" in panel.scope.text() and not panel.show_all.isVisible()


def test_the_office_assigns_a_focus_team_in_the_plan_page(qtbot, store, register):
    """重点检查 tab: the focus firm shows 未指派; in 指派检查组 the inspector under the township
    回避 and the one away cannot be ticked; ticking two others and 指派 stores the team."""
    from tests.ui.test_plan_page import create_with_focus, page as _page  # noqa: F401
    from ui.plan_dialogs import AssignTeamDialog
    from ui.plan_models import FocusTaskModel
    firms, people = register
    make_office(store)
    page = PlanPage(store)
    qtbot.addWidget(page)
    page.resize(1176, 720)
    page.show()
    page.year.selectAll()
    qtbot.keyClicks(page.year, "2027")
    create_with_focus(qtbot, page, "测试企业06")  # 月山镇: 执法员0 is under its 回避
    page.tabs.setCurrentIndex(1)
    assert page.focus_tasks.index(0, FocusTaskModel.COL_TEAM).data() == "未指派"
    click(qtbot, page.assign_button)
    dialog = page.dialog
    assert isinstance(dialog, AssignTeamDialog)
    items = {dialog.people.item(n).text().split("（")[0]: dialog.people.item(n)
             for n in range(dialog.people.count())}
    assert not items["执法员0"].flags() & Qt.ItemFlag.ItemIsEnabled
    assert "回避（月山镇）：曾挂职" in items["执法员0"].text()
    assert "不在岗" in items["执法员4"].text()
    click(qtbot, dialog.assign_button)  # nobody ticked: refused, nothing stored
    assert dialog.isVisible() and "至少 2 名" in dialog.problems.text()
    for name in ("执法员2", "执法员3"):
        rect = dialog.people.visualItemRect(items[name])
        qtbot.mouseClick(dialog.people.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        if items[name].checkState() != Qt.CheckState.Checked:  # a click on the text only selects
            qtbot.keyClick(dialog.people, Qt.Key.Key_Space)
    assert dialog.count.text() == "已选 2 名"
    click(qtbot, dialog.assign_button)
    assert not dialog.isVisible()
    [(team,)] = db(store, "select inspector_ids from plan_task where kind = 'focus'")
    assert json.loads(team) == [str(people[2]), str(people[3])]
    assert page.focus_tasks.index(0, FocusTaskModel.COL_TEAM).data() == "执法员2、执法员3"
    assert "已为 测试企业06有限公司 指派检查组" in page.result.text()
