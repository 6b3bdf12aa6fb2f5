"""Text is text: a name written like markup is shown literally on every surface that shows
record text — the walk's header, the register and its tooltips, the ledger, dialogs."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtGui import Qt as QtGui  # mightBeRichText lives in QtGui's Qt namespace
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QToolTip

import ui.app
from models.inspection_rules import NewInspection, start_inspection
from tests.conftest import make_enterprise, make_office
from tests.models.test_ledger import MAJOR, ordered_case, set_region
from tests.ui.test_ledger_page import FakeMainWindow as LedgerMain
from tests.ui.test_settings_dialogs import when_modal_opens
from ui.enterprise_models import EnterpriseTableModel
from ui.ledger_models import LedgerTableModel
from ui.main_window import MainWindow

# A tooltip is a top-level window: the offscreen platform says it cannot raise it.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

HOSTILE = "<font size=30 color=red>A&B</font>有限公司"
NOTE = "<b>粗体</b><img src=x>&amp;说明"


def shown(label: QLabel) -> str:
    """What the user reads on a label: its text, or — when Qt takes it for markup — the
    text the markup renders to."""
    rich = label.textFormat() == Qt.TextFormat.RichText or (
        label.textFormat() == Qt.TextFormat.AutoText and QtGui.mightBeRichText(label.text()))
    if not rich:
        return label.text()
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def tooltip_shown(qtbot, widget, text: str) -> str:
    """Show `text` as a tooltip over `widget` the way Qt does on hover; what it reads."""
    QToolTip.showText(widget.mapToGlobal(QPoint(5, 5)), text, widget)
    qtbot.waitUntil(lambda: any(w.inherits("QTipLabel") and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    tip = next(w for w in QApplication.topLevelWidgets() if w.inherits("QTipLabel") and w.isVisible())
    try:
        return shown(tip)
    finally:
        QToolTip.hideText()


@pytest.fixture
def hostile(store, team, clock):
    """An enterprise named like markup, with an inspection in progress."""
    firm = make_enterprise(store, name=HOSTILE, address="<i>工业园</i> 1 号")
    with store.transaction() as s:
        inspection = start_inspection(s, NewInspection(firm, team, "<u>车间</u>", clock())).id
    return firm, inspection


def test_walk_header_shows_the_name_literally(qtbot, store, hostile):
    """The walk's header reads the name as typed (before: a 30-size red "A&B")."""
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    window.open_inspection(hostile[1])
    page = window.stack.currentWidget()
    assert HOSTILE in shown(page.header) and "<u>车间</u>" in shown(page.header)


def test_register_table_detail_and_tooltip_are_literal(qtbot, store, hostile):
    """The register lists the name as typed; the detail line and the tooltip too."""
    from tests.ui.test_enterprise_page import FakeMainWindow, row_index
    from ui.enterprise_page import EnterprisePage
    page = EnterprisePage(store, FakeMainWindow())
    qtbot.addWidget(page)
    page.resize(1180, 700)
    page.show()
    index = row_index(page, HOSTILE)
    page.table.selectRow(index.row())
    assert HOSTILE in shown(page.detail_title) and "<i>工业园</i> 1 号" in shown(page.detail_title)
    tip = page.proxy.index(index.row(), EnterpriseTableModel.COL_NAME).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip_shown(qtbot, page.table, tip) == HOSTILE


def test_ledger_detail_tooltip_and_tracking_dialog_are_literal(qtbot, store, team, clock):
    """The ledger's detail line, its tooltips and the 一单四制 dialog (the office's step) show
    name and hazard text as they are."""
    from ui.ledger_page import LedgerPage
    make_office(store)
    set_region(store)
    firm = make_enterprise(store, name=HOSTILE)
    ordered_case(store, firm, team, clock, bad=(MAJOR,))
    main = LedgerMain()
    qtbot.addWidget(main)
    page = LedgerPage(store, main)
    qtbot.addWidget(page)
    page.resize(1176, 700)
    page.show()
    page.table.selectRow(0)
    assert page.model.index(0, LedgerTableModel.COL_ENTERPRISE).data() == HOSTILE
    assert HOSTILE in shown(page.detail)
    tip = page.model.index(0, LedgerTableModel.COL_ENTERPRISE).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip_shown(qtbot, page.table, tip) == HOSTILE
    qtbot.mouseClick(page.tracking_button, Qt.MouseButton.LeftButton)
    texts = [shown(w) for w in page.tracking_dialog.findChildren(QLabel)]
    page.tracking_dialog.reject()
    assert any(HOSTILE in t for t in texts), texts


def test_dialogs_that_name_a_record_show_it_literally(qtbot, store, hostile, monkeypatch):
    """The resume question and a message box carrying record text read it as typed
    (QMessageBox labels guess rich text too)."""
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    texts = []

    def read(dialog):
        try:
            texts.extend(shown(w) for w in dialog.findChildren(QLabel))
        finally:
            dialog.reject()
    when_modal_opens(read)
    ui.app.offer_resume(store, window)
    assert any(HOSTILE in t for t in texts), texts
    texts.clear()
    when_modal_opens(read)
    QMessageBox.information(window, "说明", NOTE)
    assert NOTE in texts
