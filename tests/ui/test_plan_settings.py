"""设置 → 在岗与回避 and 计划规则, driven like a user; stored values read through sqlite3."""
from __future__ import annotations

import json
import sqlite3

import pytest
from PySide6.QtCore import Qt

from models.plan_people import add_avoidance
from models.settings_rules import save_agency_settings
from tests.conftest import make_office
from tests.ui.test_settings_dialogs import AGENCY, type_text
from ui.plan_settings_tabs import AvoidanceDialog, ReasonDialog
from ui.settings_dialog import SettingsDialog


def db(store, sql, params=()):
    con = sqlite3.connect(store.db_path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def click_row(qtbot, table, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


@pytest.fixture
def dialog(qtbot, store, team, enterprise_id):
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    make_office(store)  # the 计划执法 tabs are the office's
    d = SettingsDialog(store)
    qtbot.addWidget(d)
    d.show()
    return d


def test_set_an_inspector_away_with_a_reason(qtbot, store, dialog):
    """不在岗 asks for the reason (refused when empty); 保存 stores both."""
    tab = dialog.plan_tabs[0]
    dialog.tabs.setCurrentWidget(tab)
    click_row(qtbot, tab.people_table, 1)
    click(qtbot, tab.away_button)
    reason = tab.dialog
    assert isinstance(reason, ReasonDialog)
    click(qtbot, reason.ok_button)
    assert reason.isVisible() and reason.error.text() == "请写明理由"
    type_text(qtbot, reason.reason, "脱产培训")
    click(qtbot, reason.ok_button)
    assert tab.people.index(1, 2).data() == "不在岗" and tab.people.index(1, 3).data() == "脱产培训"
    assert db(store, "select count(*) from inspector where available = 0") == [(0,)]
    click(qtbot, dialog.save_button)
    assert db(store, "select name, unavailable_reason from inspector where available = 0") == [
        ("李晓红", "脱产培训")]


def test_add_an_enterprise_avoidance_and_cancel_keeps_nothing(qtbot, store, dialog):
    tab = dialog.plan_tabs[0]
    click(qtbot, tab.add_button)
    add = tab.dialog
    assert isinstance(add, AvoidanceDialog)
    type_text(qtbot, add.reason, "近亲属任该企业负责人")
    click(qtbot, add.ok_button)
    assert add.isVisible() and "请从列表中选择一家企业" in add.error.text()
    add.firm.lineEdit().clear()
    type_text(qtbot, add.firm.lineEdit(), "湘乡市测试木业有限公司")
    click(qtbot, add.ok_button)
    assert not add.isVisible()
    assert [tab.avoid.index(0, c).data() for c in range(3)] == [
        "张卫东", "湘乡市测试木业有限公司", "近亲属任该企业负责人"]
    click(qtbot, dialog.cancel_button)
    assert db(store, "select count(*) from inspector_avoidance") == [(0,)]


def test_township_avoidance_saved_and_a_stored_one_removed(qtbot, store, team, enterprise_id):
    """A township 回避 is stored on 保存; a removed one is deleted in the same save."""
    make_office(store)  # 回避 is registered at the office
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
        old = add_avoidance(s, team[1], enterprise_id=enterprise_id, reason="曾在该企业任职").id
    d = SettingsDialog(store)
    qtbot.addWidget(d)
    d.show()
    tab = d.plan_tabs[0]
    click_row(qtbot, tab.avoid_table, 0)
    click(qtbot, tab.remove_button)
    assert tab.avoid.rowCount() == 0
    click(qtbot, tab.add_button)
    add = tab.dialog
    add.person.setCurrentIndex(1)
    click(qtbot, add.by_town)
    type_text(qtbot, add.town.lineEdit(), "月山镇")
    type_text(qtbot, add.reason, "曾在该镇挂职")
    click(qtbot, add.ok_button)
    click(qtbot, d.save_button)
    assert not d.isVisible()
    rows = db(store, "select i.name, a.enterprise_id, a.township, a.reason from inspector_avoidance a "
                     "join inspector i on i.id = a.inspector_id")
    assert rows == [("李晓红", None, "月山镇", "曾在该镇挂职")]
    assert db(store, "select count(*) from audit_event where entity_id = ? and action = 'delete'",
              (str(old),)) == [(1,)]


def test_plan_rules_refused_with_the_reason_then_saved(qtbot, store, dialog):
    """A cap below the yearly count is refused in Chinese and nothing is stored; fixed, the
    rules are stored as data and the next plan uses them."""
    tab = dialog.plan_tabs[1]
    dialog.tabs.setCurrentWidget(tab)
    tab.per_year["blue"].selectAll()
    qtbot.keyClicks(tab.per_year["blue"], "3")
    click(qtbot, dialog.save_button)
    assert dialog.isVisible() and "蓝类的年检查次数不能为负，且不能超过上限" in dialog.problems.text()
    assert db(store, "select count(*) from planning_settings") == [(0,)]
    tab.per_year["blue"].selectAll()
    qtbot.keyClicks(tab.per_year["blue"], "1")
    tab.share["yellow"].selectAll()
    qtbot.keyClicks(tab.share["yellow"], "50")
    tab.rounds.setCurrentIndex(tab.rounds.findData(2))
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    [(text,)] = db(store, "select rules_json from planning_settings")
    rules = json.loads(text)
    assert rules["classes"]["yellow"]["share"] == 0.5 and rules["rounds"] == 2


def test_a_duplicate_avoidance_is_refused_in_the_form(qtbot, store, team, enterprise_id):
    """The form checks the domain rule at once: the same 回避 twice is named and not added."""
    make_office(store)  # 回避 is registered at the office
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
        add_avoidance(s, team[0], enterprise_id=enterprise_id, reason="近亲属任职")
    d = SettingsDialog(store)
    qtbot.addWidget(d)
    d.show()
    tab = d.plan_tabs[0]
    click(qtbot, tab.add_button)
    add = tab.dialog
    type_text(qtbot, add.firm.lineEdit(), "湘乡市测试木业有限公司")
    type_text(qtbot, add.reason, "再登记一次")
    click(qtbot, add.ok_button)
    assert add.isVisible() and "张卫东的这条回避已经登记" in add.error.text()
    assert tab.avoid.rowCount() == 1


def choose(qtbot, combo, text: str) -> None:
    """Pick an entry of a combo box by keyboard, as a user does (focus, type, Enter)."""
    index = combo.findText(text)
    assert index >= 0, text
    combo.setFocus()
    while combo.currentIndex() != index:
        qtbot.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < index else Qt.Key.Key_Up)


def test_risk_rules_are_edited_in_settings_and_the_register_follows(qtbot, store, dialog):
    """分类分级: the 涉粉 firm is 黄 by the default rules; a new rule 涉粉尘爆炸 → 橙 shows its
    effect at once, is stored as data on 保存, and the register then names it."""
    from models.register_queries import list_enterprises
    from ui.risk_rules_tab import RiskRuleDialog
    tab = dialog.plan_tabs[2]
    dialog.tabs.setCurrentWidget(tab)
    assert tab.model.rowCount() == 5 and tab.model.index(0, 0).data() == "红类"
    assert tab.effect.text() == "按以上规则，企业台账现为：红 0 家，橙 0 家，黄 1 家，蓝 0 家"
    click(qtbot, tab.add_button)
    add = tab.dialog
    assert isinstance(add, RiskRuleDialog)
    choose(qtbot, add.colour, "橙类")
    choose(qtbot, add.first.kind, "涉及某一领域")
    assert add.first.area.isEnabled() and not add.first.months.isEnabled()
    choose(qtbot, add.first.area, "涉粉尘爆炸")
    click(qtbot, add.ok_button)
    assert not add.isVisible()
    assert tab.model.index(5, 1).data() == "涉粉尘爆炸"
    assert tab.effect.text() == "按以上规则，企业台账现为：红 0 家，橙 1 家，黄 0 家，蓝 0 家"
    with store.session() as s:
        assert list_enterprises(s)[0].risk_colour.value == "yellow"  # not before 保存
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    [(text,)] = db(store, "select rules_json from planning_settings")
    assert json.loads(text)["risk"]["rules"][5] == {
        "colour": "orange", "conditions": [{"kind": "area", "area": "dust", "count": 1, "months": 12}]}
    with store.session() as s:
        row = list_enterprises(s)[0]
    assert (row.risk_colour.value, row.risk_basis) == ("orange", "规则：涉粉尘爆炸")


def test_removing_every_rule_leaves_the_default_class(qtbot, store, dialog):
    tab = dialog.plan_tabs[2]
    dialog.tabs.setCurrentWidget(tab)
    for _ in range(5):
        click_row(qtbot, tab.table, 0)
        click(qtbot, tab.remove_button)
    assert tab.model.rowCount() == 0 and not tab.remove_button.isEnabled()
    choose(qtbot, tab.default, "红类")
    assert tab.effect.text() == "按以上规则，企业台账现为：红 1 家，橙 0 家，黄 0 家，蓝 0 家"
    click(qtbot, dialog.save_button)
    [(text,)] = db(store, "select rules_json from planning_settings")
    assert json.loads(text)["risk"] == {"rules": [], "default": "red"}


def test_a_laptop_has_no_planning_tabs(qtbot, store, team):
    """Without the agency's CA, 设置 shows no 在岗与回避, 计划规则 or 分类分级, and saving 设置
    writes no planning rules of the laptop's own."""
    with store.transaction() as s:
        save_agency_settings(s, **AGENCY)
    d = SettingsDialog(store)
    qtbot.addWidget(d)
    d.show()
    names = [d.tabs.tabText(n) for n in range(d.tabs.count())]
    assert d.plan_tabs == [] and not {"在岗与回避", "计划规则", "分类分级"} & set(names)
    click(qtbot, d.save_button)
    assert not d.isVisible() and db(store, "select count(*) from planning_settings") == [(0,)]
