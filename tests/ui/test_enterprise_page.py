"""The enterprise register screen: add and edit with inline checks, search, sort, details."""
import uuid
from datetime import date, datetime, timezone

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor, QInputMethodEvent
from PySide6.QtWidgets import QApplication

from models.inspection import AnswerResult, InspectionStatus
from models.inspection_rules import answer_item, inspection_items
from models.register_queries import EnterpriseRow, HistoryRow, OpenHazardRow, list_enterprises
from models.registry import RiskColour
from tests.conftest import make_enterprise, valid_credit_code
from ui.enterprise_dialog import EnterpriseDialog
from ui.enterprise_models import (ID_ROLE, SORT_ROLE, EnterpriseTableModel, HistoryModel,
                                  OpenHazardModel)
from ui.enterprise_page import EnterprisePage
from ui.style import RED

# The offscreen platform warns whenever a top-level window's minimum size changes (a label
# appearing under a field); it means nothing on a real screen.

GOOD_CODE = valid_credit_code("91430381MA4L54321")
# Same 17 characters, a wrong check character.
BAD_CODE = GOOD_CODE[:17] + ("0" if GOOD_CODE[17] != "0" else "1")


class FakeMainWindow:
    """Stands in for the main window: records where the page sent the user."""

    def __init__(self) -> None:
        self.new_inspection_for: list = []
        self.opened: list = []

    def new_inspection(self, enterprise_id=None) -> None:
        self.new_inspection_for.append(enterprise_id)

    def open_inspection(self, inspection_id, item_id=None) -> None:
        self.opened.append((inspection_id, item_id))


def type_chinese(widget, text: str) -> None:
    """Type Chinese the way a pinyin input method does: it commits the finished characters."""
    event = QInputMethodEvent()
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def stored(store) -> list[EnterpriseRow]:
    with store.session() as s:
        return list_enterprises(s)


def shown_names(page) -> list[str]:
    return [page.proxy.index(r, EnterpriseTableModel.COL_NAME).data()
            for r in range(page.proxy.rowCount())]


def row_index(page, name: str, column: int = EnterpriseTableModel.COL_NAME):
    row = shown_names(page).index(name)
    return page.proxy.index(row, column)


def double_click(qtbot, table, index) -> None:
    """A real double-click: QTest's mouseDClick alone lacks the first press-release."""
    pos = table.visualRect(index).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


@pytest.fixture
def main():
    return FakeMainWindow()


@pytest.fixture
def page(qtbot, store, main):
    widget = EnterprisePage(store, main)
    qtbot.addWidget(widget)
    widget.resize(1180, 700)
    widget.show()
    return widget


def test_create_with_invalid_then_valid_credit_code(qtbot, store, page):
    """A wrong check digit is explained under the field and nothing is saved; fixed, it saves."""
    click(qtbot, page.add_button)
    dialog = page.dialog
    assert dialog.isVisible() and dialog.windowTitle() == "新增企业"
    type_chinese(dialog.name, "湘乡市新兴机械制造有限公司")
    qtbot.keyClicks(dialog.credit_code, BAD_CODE)
    error = dialog.errors["credit_code"]
    assert error.isVisible()
    assert f"最后一位应为 {GOOD_CODE[17]}" in error.text()
    click(qtbot, dialog.save_button)
    assert dialog.isVisible()
    assert stored(store) == []
    dialog.credit_code.selectAll()
    qtbot.keyClicks(dialog.credit_code, GOOD_CODE.lower())
    assert not error.isVisible()
    click(qtbot, dialog.dust)
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    [row] = stored(store)
    assert (row.name, row.credit_code, row.has_dust) == ("湘乡市新兴机械制造有限公司", GOOD_CODE, True)
    assert shown_names(page) == ["湘乡市新兴机械制造有限公司"]
    assert page.selected_id() == row.id


def test_typing_shows_each_problem_under_its_field(qtbot, store, page):
    """Length, bad characters, phone format and an emptied name are explained as the user types."""
    click(qtbot, page.add_button)
    dialog = page.dialog
    qtbot.keyClicks(dialog.credit_code, "91430381")
    assert "应为 18 位，现为 8 位" in dialog.errors["credit_code"].text()
    qtbot.keyClicks(dialog.credit_code, "MA4L1234O5")
    assert "不允许的字符：O" in dialog.errors["credit_code"].text()
    qtbot.keyClicks(dialog.phone, "12345")
    assert "联系电话格式不对" in dialog.errors["phone"].text()
    type_chinese(dialog.name, "某")
    qtbot.keyClick(dialog.name, Qt.Key.Key_Backspace)
    assert dialog.errors["name"].text() == "请填写单位名称"
    assert all(dialog.errors[k].isVisible() for k in ("name", "credit_code", "phone"))


def test_duplicate_credit_code_is_shown_at_the_code(qtbot, store, enterprise_id, page):
    """Saving a code that is already registered names the enterprise it belongs to."""
    click(qtbot, page.add_button)
    dialog = page.dialog
    type_chinese(dialog.name, "重复登记的公司")
    qtbot.keyClicks(dialog.credit_code, stored(store)[0].credit_code)
    qtbot.keyClick(dialog.credit_code, Qt.Key.Key_Return)
    assert dialog.isVisible()
    assert dialog.errors["credit_code"].text() == "该统一社会信用代码已登记为“湘乡市测试木业有限公司”"
    assert len(stored(store)) == 1


def test_escape_cancels_without_saving(qtbot, store, page):
    """Esc closes the form and stores nothing."""
    click(qtbot, page.add_button)
    dialog = page.dialog
    type_chinese(dialog.name, "不保存的公司")
    qtbot.keyClicks(dialog.credit_code, GOOD_CODE)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert stored(store) == []


@pytest.fixture
def three(store):
    """Classes set by hand (with their reasons): the rules of 设置 would give other ones."""
    make_enterprise(store, name="湘乡市恒达木业有限公司", risk_colour=RiskColour.ORANGE,
                    risk_reason="测试：手动定为橙", credit_code=valid_credit_code("91430381MA4L00001"))
    make_enterprise(store, name="湘乡市湘味冷链物流有限公司", risk_colour=RiskColour.RED,
                    risk_reason="测试：手动定为红", address="东山街道冷链大道 16 号", has_ammonia=True,
                    credit_code=valid_credit_code("91430381MA4L00002"))
    make_enterprise(store, name="湘乡市清源酿造有限公司", risk_colour=RiskColour.BLUE,
                    risk_reason="测试：手动定为蓝", credit_code=valid_credit_code("92430381XY1234567"))


def test_search_filters_as_you_type(qtbot, three, page):
    """Typing in the search box narrows the table; clearing it shows everything again."""
    assert len(shown_names(page)) == 3 and page.count_label.text() == "共 3 家"
    type_chinese(page.search, "冷链")
    assert shown_names(page) == ["湘乡市湘味冷链物流有限公司"]
    assert page.count_label.text() == "找到 1 家"
    page.search.clear()
    qtbot.keyClicks(page.search, "ma4l0000")
    assert sorted(shown_names(page)) == ["湘乡市恒达木业有限公司", "湘乡市湘味冷链物流有限公司"]
    qtbot.keyClicks(page.search, "9")
    assert shown_names(page) == [] and page.count_label.text() == "没有符合的企业"


def test_clicking_a_header_sorts_by_that_column(qtbot, three, page):
    """Clicking 风险 sorts by risk level; clicking again reverses the order."""
    header = page.table.horizontalHeader()
    pos = header.rect().center()
    pos.setX(header.sectionViewportPosition(EnterpriseTableModel.COL_RISK) + 10)

    def risks():
        return [page.proxy.index(r, EnterpriseTableModel.COL_RISK).data() for r in range(3)]

    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    first = risks()
    assert first in (["蓝 手动", "橙 手动", "红 手动"], ["红 手动", "橙 手动", "蓝 手动"])
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert risks() == list(reversed(first))


def test_double_click_edits_and_the_change_is_stored(qtbot, store, three, page):
    """Double-clicking a row opens its form filled in; saving stores and shows the change."""
    double_click(qtbot, page.table, row_index(page, "湘乡市清源酿造有限公司"))
    dialog = page.dialog
    assert dialog.windowTitle() == "编辑企业信息"
    assert dialog.name.text() == "湘乡市清源酿造有限公司"
    assert dialog.risk.currentText() == "蓝 低风险（手动）"
    dialog.phone.selectAll()
    qtbot.keyClicks(dialog.phone, "0731-56781234")
    dialog.risk.setCurrentIndex(dialog.risk.findText("黄 一般风险（手动）"))
    type_chinese(dialog.risk_reason, "新增发酵罐有限空间作业")
    click(qtbot, dialog.confined)
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    row = next(r for r in stored(store) if r.name == "湘乡市清源酿造有限公司")
    assert (row.phone, row.risk_colour, row.has_confined_space) == (
        "0731-56781234", RiskColour.YELLOW, True)
    assert page.selected_id() == row.id
    assert row_index(page, row.name, EnterpriseTableModel.COL_RISK).data() == "黄 手动"
    assert "电话 0731-56781234" in page.detail_title.text()
    assert len(stored(store)) == 3


def test_new_inspection_button_starts_one_for_the_selected(qtbot, three, page, main):
    """对该企业新建检查 starts a new inspection for the enterprise selected in the table."""
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=page.table.visualRect(row_index(page, "湘乡市恒达木业有限公司")).center())
    click(qtbot, page.inspect_button)
    assert main.new_inspection_for == [page.selected_id()]
    assert main.new_inspection_for[0] is not None


def _major_item(store, inspection_id):
    with store.session() as s:
        return next(i for i in inspection_items(s, inspection_id) if i.major)


def test_detail_panel_shows_history_and_open_hazards(qtbot, store, main, inspection_id,
                                                     enterprise_id):
    """A 不符合 answer shows in the history and as an open hazard marked 重大 with its clause."""
    item = _major_item(store, inspection_id)
    with store.transaction() as s:
        answer_item(s, inspection_id, item.id, AnswerResult.NONCOMPLIANT)
    page = EnterprisePage(store, main)
    qtbot.addWidget(page)
    page.show()
    assert page.selected_id() == enterprise_id
    assert row_index(page, "湘乡市测试木业有限公司", EnterpriseTableModel.COL_OPEN_HAZARDS).data() == "1"
    assert page.tabs.tabText(0) == "检查记录（1）" and page.tabs.tabText(1) == "未整改隐患（1）"
    history = page.history_model.index(0, HistoryModel.COL_STATUS)
    assert history.data() == "检查中"
    assert page.history_model.index(0, HistoryModel.COL_HAZARDS).data() == "1 项（重大 1）"
    level = page.hazard_model.index(0, OpenHazardModel.COL_LEVEL)
    assert level.data().startswith("重大 · 第")
    assert level.data(Qt.ItemDataRole.ToolTipRole) == item.major_clause
    assert level.data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)
    page.tabs.setCurrentIndex(0)
    double_click(qtbot, page.history_table, history)
    page.tabs.setCurrentIndex(1)
    double_click(qtbot, page.hazard_table, level)
    assert main.opened == [(inspection_id, None), (inspection_id, item.id)]


def test_refresh_picks_up_changes_and_keeps_the_selection(qtbot, store, three, page):
    """Coming back to the page shows enterprises added elsewhere, same one still selected."""
    page.select_enterprise(row_index(page, "湘乡市清源酿造有限公司").data(ID_ROLE))
    kept = page.selected_id()
    make_enterprise(store, name="湘乡市新来的有限公司",
                    credit_code=valid_credit_code("91430381MA4L77777"))
    page.refresh()
    assert len(shown_names(page)) == 4 and page.selected_id() == kept


def test_a_hand_made_risk_change_needs_its_reason_and_township_is_stored(qtbot, store, three, page):
    """Changing 风险等级 without a reason is refused under the 定级理由 field and nothing is
    stored; with a reason the class, reason and 乡镇 are stored and shown in the register."""
    double_click(qtbot, page.table, row_index(page, "湘乡市清源酿造有限公司"))
    dialog = page.dialog
    dialog.risk.setCurrentIndex(dialog.risk.findText("红 重大风险（手动）"))
    type_chinese(dialog.township, "月山镇")
    click(qtbot, dialog.save_button)
    assert dialog.isVisible()
    assert dialog.errors["risk_reason"].text() == "调整风险等级须写明理由"
    row = next(r for r in stored(store) if r.name == "湘乡市清源酿造有限公司")
    assert (row.risk_colour, row.township) == (RiskColour.BLUE, "")
    type_chinese(dialog.risk_reason, "发生有限空间中毒未遂事件")
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    row = next(r for r in stored(store) if r.name == "湘乡市清源酿造有限公司")
    assert (row.risk_colour, row.risk_reason, row.township) == (
        RiskColour.RED, "发生有限空间中毒未遂事件", "月山镇")
    assert row_index(page, row.name, EnterpriseTableModel.COL_TOWNSHIP).data() == "月山镇"
    tip = row_index(page, row.name, EnterpriseTableModel.COL_RISK).data(Qt.ItemDataRole.ToolTipRole)
    assert "手动定级（优先于规则）：发生有限空间中毒未遂事件；按规则应为" in tip
    assert "乡镇/街道 月山镇" in page.detail_title.text()
    assert "定级 手动定级（优先于规则）：发生有限空间中毒未遂事件" in page.detail_title.text()


# The models on their own.

def enterprise_row(**overrides) -> EnterpriseRow:
    data = dict(id=uuid.uuid4(), name="湘乡市恒达木业有限公司", credit_code=GOOD_CODE,
                address="木业路 8 号", legal_representative="陈建国", phone="13907321234",
                has_dust=True, has_ammonia=True, has_confined_space=True,
                risk_colour=RiskColour.RED, township="月山镇", risk_reason="", inspections=2,
                open_hazards=3,
                last_inspection=date(2026, 10, 13))
    data.update(overrides)
    return EnterpriseRow(**data)


def history_row(**overrides) -> HistoryRow:
    data = dict(id=uuid.uuid4(), started_at=datetime(2026, 10, 13, 2, 0, tzinfo=timezone.utc),
                place="木工车间", status=InspectionStatus.FINALIZED, status_label="已定稿",
                hazards=3, major_hazards=1)
    data.update(overrides)
    return HistoryRow(**data)


def hazard_row(**overrides) -> OpenHazardRow:
    data = dict(id=uuid.uuid4(), inspection_id=uuid.uuid4(), item_id=uuid.uuid4(),
                item_code="DUST-03", description="除尘器积尘未清理：不符合要求", is_major=False,
                major_clause="", deadline=date(2026, 10, 20), found_on=date(2026, 10, 13),
                ordered=True, overdue=True, days_overdue=33)
    data.update(overrides)
    return OpenHazardRow(**data)


def test_enterprise_model_shows_flags_and_risk_colour():
    """Flags read 涉粉 涉氨 有限空间; the risk cell says 红 on a red background."""
    model = EnterpriseTableModel()
    model.set_rows([enterprise_row(), enterprise_row(has_dust=False, has_ammonia=False,
                                                     has_confined_space=False, last_inspection=None,
                                                     risk_colour=RiskColour.YELLOW)])
    assert model.rowCount() == 2 and model.columnCount() == 11
    assert model.index(0, EnterpriseTableModel.COL_FLAGS).data() == "涉粉 涉氨 有限空间"
    risk = model.index(0, EnterpriseTableModel.COL_RISK)
    assert risk.data() == "红"
    assert risk.data(Qt.ItemDataRole.BackgroundRole) == QColor("#c62828")
    assert risk.data(Qt.ItemDataRole.ToolTipRole) == "红（重大风险）"
    assert risk.data(SORT_ROLE) > model.index(1, EnterpriseTableModel.COL_RISK).data(SORT_ROLE)
    assert model.index(1, EnterpriseTableModel.COL_FLAGS).data() == ""
    assert model.index(1, EnterpriseTableModel.COL_LAST_INSPECTION).data() == "从未检查"
    header = model.headerData(EnterpriseTableModel.COL_OPEN_HAZARDS, Qt.Orientation.Horizontal)
    assert header == "未整改"


def test_hazard_model_marks_overdue_and_unissued_deadlines():
    """An overdue deadline is red with the days late; one not yet ordered says so."""
    model = OpenHazardModel()
    model.set_rows([hazard_row(), hazard_row(ordered=False, overdue=False, days_overdue=0,
                                             is_major=True,
                                             major_clause="《工贸企业重大事故隐患判定标准》第十一条（一）")])
    late = model.index(0, OpenHazardModel.COL_DEADLINE)
    assert late.data() == "2026-10-20（已逾期 33 天）"
    assert late.data(Qt.ItemDataRole.ForegroundRole) == QColor(RED)
    assert model.index(1, OpenHazardModel.COL_DEADLINE).data() == "2026-10-20（未下达）"
    assert model.index(1, OpenHazardModel.COL_LEVEL).data() == "重大 · 第十一条（一）"
    assert model.index(0, OpenHazardModel.COL_LEVEL).data() == "一般"
    assert model.index(0, OpenHazardModel.COL_DESCRIPTION).data().startswith("DUST-03 ")


def test_history_model_shows_date_status_and_counts():
    """Each past inspection shows when, where, its status and how many hazards (major ones)."""
    model = HistoryModel()
    model.set_rows([history_row(), history_row(hazards=0, major_hazards=0)])
    assert model.index(0, HistoryModel.COL_STATUS).data() == "已定稿"
    assert model.index(0, HistoryModel.COL_HAZARDS).data() == "3 项（重大 1）"
    assert model.index(1, HistoryModel.COL_HAZARDS).data() == "无"
    assert model.index(0, HistoryModel.COL_DATE).data().startswith("2026-10-13")
    assert model.index(0, 0).data(ID_ROLE) == model.rows[0].id
    assert model.data(QModelIndex()) is None


@pytest.mark.parametrize("model_class,rows", [
    (EnterpriseTableModel, [enterprise_row(), enterprise_row(last_inspection=None)]),
    (HistoryModel, [history_row(), history_row(status=InspectionStatus.IN_PROGRESS)]),
    (OpenHazardModel, [hazard_row(), hazard_row(is_major=True, major_clause="第三条（一）")]),
])
def test_models_pass_qt_model_checks(qtmodeltester, model_class, rows):
    """Each model behaves as Qt's views expect, empty and filled."""
    model = model_class()
    qtmodeltester.check(model)
    model.set_rows(rows)
    qtmodeltester.check(model)


def test_dialog_edits_a_stored_enterprise_directly(qtbot, store, enterprise_id):
    """The form can be opened on its own for an enterprise and keeps its id after saving."""
    dialog = EnterpriseDialog(store, None, enterprise_id)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.address.clear()
    type_chinese(dialog.address, "湘乡市工业园 2 号")
    click(qtbot, dialog.save_button)
    assert dialog.enterprise_id == enterprise_id
    assert stored(store)[0].address == "湘乡市工业园 2 号"


def test_a_new_firm_follows_the_rules_and_the_register_says_which(qtbot, store, page):
    """按规则定级 is the default: ticking 涉氨制冷 shows 橙 and the rule next to it; saved, the
    register shows 橙 with 定级依据 涉氨制冷. Set to 红 by hand with a reason, it says 手动;
    back to 按规则定级, the reason is cleared and 橙 returns."""
    click(qtbot, page.add_button)
    dialog = page.dialog
    assert dialog.risk.currentText() == "按规则定级" and not dialog.risk_reason.isEnabled()
    assert dialog.rule_note.text() == "按规则为 蓝：未满足任何定级条件（默认等级）"
    type_chinese(dialog.name, "湘乡市冰峰冷冻食品有限公司")
    qtbot.keyClicks(dialog.credit_code, GOOD_CODE)
    click(qtbot, dialog.ammonia)
    assert dialog.rule_note.text() == "按规则为 橙：涉氨制冷"
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    [row] = stored(store)
    assert (row.risk_colour, row.risk_reason) == (RiskColour.ORANGE, "")
    assert row_index(page, row.name, EnterpriseTableModel.COL_RISK).data() == "橙"
    assert row_index(page, row.name, EnterpriseTableModel.COL_RISK).data(
        Qt.ItemDataRole.ToolTipRole) == "橙（较大风险）。规则：涉氨制冷"
    assert "定级 规则：涉氨制冷" in page.detail_title.text()
    double_click(qtbot, page.table, row_index(page, row.name))
    dialog = page.dialog
    assert dialog.risk.currentText() == "按规则定级"
    dialog.risk.setCurrentIndex(dialog.risk.findText("红 重大风险（手动）"))
    assert dialog.risk_reason.isEnabled() and dialog.rule_note.text().startswith("手动定级优先；按规则应为 橙")
    type_chinese(dialog.risk_reason, "液氨储量超过 10 吨")
    click(qtbot, dialog.save_button)
    assert not dialog.isVisible()
    assert row_index(page, row.name, EnterpriseTableModel.COL_RISK).data() == "红 手动"
    assert ("定级 手动定级（优先于规则）：液氨储量超过 10 吨；按规则应为橙（涉氨制冷）"
            in page.detail_title.text())
    double_click(qtbot, page.table, row_index(page, row.name))
    dialog = page.dialog
    assert dialog.risk_reason.text() == "液氨储量超过 10 吨"
    dialog.risk.setCurrentIndex(dialog.risk.findText("按规则定级"))
    assert dialog.risk_reason.text() == ""
    click(qtbot, dialog.save_button)
    [row] = stored(store)
    assert (row.risk_colour, row.risk_reason) == (RiskColour.ORANGE, "")
    assert row_index(page, row.name, EnterpriseTableModel.COL_RISK).data() == "橙"
