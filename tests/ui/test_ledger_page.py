"""The hazard ledger screen, the due reminder and the statistics, acting as an inspector."""
import pytest
from openpyxl import load_workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyle, QWidget

from models.errors import FieldCheckError
from models.inspection_rules import local_date
from models.ledger import OVERDUE, TO_RECTIFY, LedgerFilter, ledger_page
from tests.conftest import make_enterprise, make_office, valid_credit_code
from tests.models.test_ledger import MAJOR, ordered_case, set_region
from tests.ui.test_enterprise_page import type_chinese
from ui.due_dialog import show_due_on_start
from ui.ledger_models import CountTableModel, DueTableModel, LedgerTableModel
from ui.ledger_page import LedgerPage
from ui.main_window import MainWindow
from ui.style import RED


class FakeMainWindow(QWidget):
    """Stands in for the main window (a widget, so dialogs can sit on it): records navigation."""

    def __init__(self) -> None:
        super().__init__()
        self.reinspections, self.ledgers = [], []

    def open_reinspection(self, original_id=None, enterprise_id=None) -> None:
        self.reinspections.append(original_id)

    def show_ledger(self, due_only=False) -> None:
        self.ledgers.append(due_only)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def shown(page, col=LedgerTableModel.COL_STATUS) -> list[str]:
    return [page.model.index(r, col).data() for r in range(page.model.rowCount())]


@pytest.fixture
def case(store, enterprise_id, team, clock):
    set_region(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    other = make_enterprise(store, name="湘乡市冷链食品有限公司", has_dust=False, has_ammonia=True,
                            credit_code=valid_credit_code("91430381MA4L99999"))
    ordered_case(store, other, team, clock, bad=("NH3-01",), place="冷库")
    return insp, hazards


@pytest.fixture
def main(qtbot):
    window = FakeMainWindow()
    qtbot.addWidget(window)
    return window


@pytest.fixture
def page(qtbot, store, main, case):
    widget = LedgerPage(store, main)
    qtbot.addWidget(widget)
    widget.resize(1176, 700)
    widget.show()
    return widget


def test_models_pass_the_model_tester(qtmodeltester, store, clock, case):
    """The ledger, due and count models behave as Qt expects."""
    today = local_date(clock())
    with store.session() as s:
        rows = ledger_page(s, LedgerFilter(), today).rows
    for model in (LedgerTableModel(), DueTableModel(today), CountTableModel("领域")):
        model.set_rows(rows if not isinstance(model, CountTableModel) else [("粉尘防爆", 2)])
        qtmodeltester.check(model)


def test_ledger_lists_every_hazard_and_overdue_shows_red(qtbot, page, clock):
    """All hazards are listed by deadline; once the deadline passes the row says 逾期 in red."""
    assert shown(page) == [TO_RECTIFY] * 3
    assert page.count_label.text() == "共 3 条，显示第 1–3 条"
    order = page.model.index(0, LedgerTableModel.COL_ORDER)
    assert order.data().startswith("责改〔2026〕")  # the region is in the tooltip: whole number
    assert order.data(Qt.ItemDataRole.ToolTipRole).startswith("（湘乡）应急责改〔2026〕")
    clock.advance(days=61)  # past DUST-01's 60 days
    page.refresh()
    assert shown(page)[0] == OVERDUE
    index = page.model.index(0, LedgerTableModel.COL_DEADLINE)
    assert "逾期1天" in index.data()
    assert index.data(Qt.ItemDataRole.ForegroundRole).name() == RED


def test_filters_narrow_the_table(qtbot, page):
    """Major only, an area, an enterprise and search text each narrow what is shown."""
    click(qtbot, page.major_only)
    assert shown(page, LedgerTableModel.COL_ITEM)[0].startswith(MAJOR)
    assert page.model.rowCount() == 1
    assert not page.table.isColumnHidden(LedgerTableModel.COL_ASSIGNED)
    click(qtbot, page.major_only)
    page.area.setCurrentIndex(page.area.findText("涉氨制冷"))
    assert page.model.rowCount() == 1
    page.area.setCurrentIndex(0)
    page.enterprise.setCurrentIndex(page.enterprise.findText("湘乡市测试木业有限公司"))
    assert page.model.rowCount() == 2
    page.enterprise.setCurrentIndex(0)
    type_chinese(page.search, "冷链")
    assert shown(page, LedgerTableModel.COL_ENTERPRISE) == ["湘乡市冷链食品有限公司"]
    page.search.clear()
    page.status.setCurrentIndex(page.status.findText(OVERDUE))
    assert page.count_label.text() == "没有符合条件的隐患"


@pytest.fixture
def office_page(qtbot, store, main, case):
    """The ledger at the office (the store holds the agency's CA: `agency create`)."""
    make_office(store)
    widget = LedgerPage(store, main)
    qtbot.addWidget(widget)
    widget.resize(1176, 700)
    widget.show()
    return widget


def test_a_laptop_does_not_offer_the_offices_tracking_step(qtbot, page, store):
    """On a laptop 台账编号 and 通报 are the office's steps: the button stays disabled on a
    major hazard, says 由办公室登记, and its shortcut opens nothing; the row still shows them."""
    click(qtbot, page.major_only)
    page.table.selectRow(0)
    assert page.selected_row().is_major and page.reinspect_button.isEnabled()
    assert not page.tracking_button.isEnabled()
    assert "由办公室登记" in page.tracking_button.toolTip()
    qtbot.keyClick(page, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    qtbot.wait(50)
    assert getattr(page, "tracking_dialog", None) is None
    assert "台账编号 未填" in page.detail.text() and "由办公室登记" in page.detail.text()


def test_major_tracking_is_edited_and_shown(qtbot, office_page, store):
    """一单四制 at the office: the clerk fills in 台账编号; the table shows it. 交办 is only shown
    (the office assigns on its own page), and saving leaves it as it was."""
    page = office_page
    click(qtbot, page.major_only)
    page.table.selectRow(0)
    assert page.tracking_button.isEnabled() and "由办公室登记" not in page.detail.text()
    page.table.selectRow(0)
    click(qtbot, page.tracking_button)
    dialog = page.tracking_dialog
    assert "未交办" in dialog.assigned.text()
    qtbot.keyClicks(dialog.ledger_no, "ZD-2026-001")
    click(qtbot, dialog.reported)
    click(qtbot, dialog.buttons.buttons()[0])
    assert shown(page, LedgerTableModel.COL_ASSIGNED) == [""]
    assert shown(page, LedgerTableModel.COL_LEDGER_NO) == ["ZD-2026-001"]


def test_reinspect_button_goes_to_the_order(qtbot, page, main, case):
    """「复查」 on a selected hazard opens the re-inspection of its order."""
    page.table.selectRow(0)
    click(qtbot, page.reinspect_button)
    assert main.reinspections == [case[0]]


def test_export_button_writes_what_is_shown(qtbot, page, tmp_path):
    """The export writes the filtered ledger to Excel and says so."""
    click(qtbot, page.major_only)
    out = tmp_path / "major.xlsx"
    with qtbot.waitSignal(page.exported, timeout=30000) as written:
        page.export_to(out)
        assert not page.export_button.isEnabled()  # one export at a time, the page stays live
    assert written.args == [1]
    assert "已导出 1 条" in page.count_label.text() and page.export_button.isEnabled()
    assert load_workbook(out)["隐患台账"].max_row == 2


def test_export_failure_is_told_and_the_page_recovers(qtbot, page, tmp_path, monkeypatch):
    """A folder that cannot be written says so in Chinese; the button works again."""
    shown = []
    monkeypatch.setattr("ui.ledger_page.show_error", lambda _w, exc, title: shown.append(exc))
    worker = page.export_to(tmp_path / "no-such-folder" / "ledger.xlsx")
    qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    worker.wait()
    assert "导出失败" in page.count_label.text() and page.export_button.isEnabled()
    assert isinstance(shown[0], FieldCheckError) and shown[0].message


def test_statistics_tab_shows_figures_and_charts(qtbot, page):
    """The 统计 tab shows totals, the rectification rate and bars per status and area."""
    page.tabs.setCurrentWidget(page.stats)
    assert "隐患 <b>3</b> 项（重大 <b>1</b>）" in page.stats.figures.text()
    assert "整改率 <b>0.0%</b>" in page.stats.figures.text()
    assert dict(zip(page.stats.area_chart.categories, page.stats.area_chart.values)) == {
        "粉尘防爆": 2, "涉氨制冷": 1}
    assert page.stats.item_model.rowCount() == 3


def test_due_dialog_lists_overdue_and_soon(qtbot, store, clock, case, main):
    """At start the reminder lists overdue and soon-due hazards and leads to the ledger."""
    assert show_due_on_start(store, main) is None  # nothing due yet
    clock.advance(days=61)
    dialog = show_due_on_start(store, main)
    assert dialog.overdue_label.text() == "已逾期 1 项"
    assert dialog.overdue_model.index(0, DueTableModel.COL_WHEN).data() == "已逾期 1 天"
    assert dialog.soon_label.text() == "10 日内到期 0 项"
    click(qtbot, dialog.ledger_button)
    assert main.ledgers == [True] and not dialog.isVisible()


def _close_one_and_leave_one_due(store, clock, case):
    """DUST-01 closed off by a re-inspection; the others stay: one due soon, two just ordered."""
    from models.reinspection_rules import finalize_reinspection, record_review, start_reinspection
    insp, hazards = case
    from models.inspection import Inspection
    with store.session() as s:
        team = [m.inspector_id for m in s.get(Inspection, insp).team]
    with store.transaction() as s:
        re_id = start_reinspection(s, insp, team, clock()).id
        for code, hazard in hazards.items():
            if code == MAJOR:
                record_review(s, re_id, hazard, rectified=True, note="已迁出")
            else:
                record_review(s, re_id, hazard, rectified=False, escalated=True)
        finalize_reinspection(s, re_id)


def test_ledger_opens_on_every_open_hazard(qtbot, store, clock, case):
    """The first view lists 待整改, 待复查 and 逾期 alike (not the closed one); after the due
    reminder narrowed it, the navigation opens on every open hazard again."""
    from models.ledger import CLOSED, DUE
    _close_one_and_leave_one_due(store, clock, case)
    clock.advance(days=80)  # NH3-01 (90 days) is now due within the reminder's 10 days
    win = MainWindow(store)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    win.show_ledger()
    page = win.stack.currentWidget()
    assert page.status.currentText() == "未销号"
    assert CLOSED not in shown(page) and DUE in shown(page)
    win.show_ledger(due_only=True)
    assert shown(page) == [DUE]
    win.show_inspections()
    win.show_ledger()
    assert page.status.currentText() == "未销号" and DUE in shown(page)


def test_columns_fit_a_1366_screen_and_cut_text_shows_in_tooltips(qtbot, store, case):
    """In a 1366×768 window every column is on screen without scrolling sideways, the short
    ones whole; the enterprise and hazard texts are whole in their tooltips."""
    from ui.style import BASE_POINT_SIZE
    win = MainWindow(store)
    font = win.font()
    font.setPointSize(BASE_POINT_SIZE)  # the application's text size (ui.style.apply_style)
    win.setFont(font)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    win.show_ledger()
    page = win.stack.currentWidget()
    for major_only in (False, True):
        page.major_only.setChecked(major_only)
        qtbot.wait(50)  # the header lays its sections out on the next event round
        table = page.table
        shown_cols = [c for c in range(page.model.columnCount()) if not table.isColumnHidden(c)]
        used = sum(table.columnWidth(c) for c in shown_cols)
        assert used <= table.viewport().width(), (major_only, used, table.viewport().width())
        assert not table.horizontalScrollBar().isVisible()
        metrics = table.fontMetrics()
        # A cell elides unless its text fits inside the style's margins (QCommonStyle: the
        # focus-frame margin plus one pixel on each side).
        margins = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin,
                                                 None, table) + 1)
        for col in shown_cols:
            if col in (LedgerTableModel.COL_ENTERPRISE, LedgerTableModel.COL_ITEM):
                continue
            for row in range(page.model.rowCount()):
                text = page.model.index(row, col).data()
                assert metrics.horizontalAdvance(text) + margins <= table.columnWidth(col), (
                    col, text)
        for row in range(page.model.rowCount()):
            item = page.model.index(row, LedgerTableModel.COL_ITEM)
            assert item.data(Qt.ItemDataRole.ToolTipRole) == item.data()
            assert len(item.data()) > 20
