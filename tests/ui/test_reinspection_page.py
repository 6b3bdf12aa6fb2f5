"""The re-inspection screen: start from the order, record each hazard, finish, save the opinion."""
from datetime import timedelta

import pytest
from PySide6.QtCore import QDate, Qt

from models.inspection import Hazard, HazardStatus
from models.inspection_rules import local_date
from models.ledger import CLOSED, NOT_RECTIFIED, ledger_row
from models.reinspection_rules import reinspection_opinion_pdf
from tests.documents import flat, pdf_text
from tests.models.test_ledger import GENERAL, MAJOR, ordered_case, set_region
from tests.models.test_reinspection_rules import jpeg
from tests.ui.test_enterprise_page import type_chinese
from ui.reinspection_page import ReinspectionPage, ReviewTableModel


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def results(page) -> list[str]:
    return [page.model.index(r, ReviewTableModel.COL_RESULT).data()
            for r in range(page.model.rowCount())]


@pytest.fixture
def case(store, enterprise_id, team, clock):
    set_region(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    clock.advance(days=61)
    return insp, hazards


@pytest.fixture
def page(qtbot, store, case):
    widget = ReinspectionPage(store, None, original_id=case[0])
    qtbot.addWidget(widget)
    widget.resize(1176, 700)
    widget.show()
    return widget


def test_review_model_passes_the_model_tester(qtmodeltester, page, qtbot):
    """The review table behaves as Qt expects."""
    click(qtbot, page.start_button)
    qtmodeltester.check(page.model)


def test_start_needs_two_inspectors(qtbot, page, monkeypatch):
    """With only one inspector ticked, the user is told why and the start form stays."""
    told = []
    monkeypatch.setattr("ui.reinspection_page.show_error",
                        lambda _parent, error, title="": told.append(error.text()))
    page.inspectors.item(1).setCheckState(Qt.CheckState.Unchecked)
    click(qtbot, page.start_button)
    assert len(told) == 1 and "至少两名执法人员" in told[0]
    assert page.stack.currentIndex() == 0 and page.reinspection_id is None


def test_whole_reinspection_from_the_screen(qtbot, page, store, clock, case, tmp_path):
    """One hazard rectified with an after photo, one not with a new deadline; finish; opinion."""
    _insp, hazards = case
    assert page.order.count() == 1 and "待复查隐患 2 项" in page.order.currentText()
    click(qtbot, page.start_button)
    assert page.stack.currentIndex() == 1 and results(page) == ["待确定", "待确定"]
    assert not page.finish_button.isEnabled()
    page.table.selectRow(0)  # DUST-01, the major one
    click(qtbot, page.rectified)
    type_chinese(page.note, "宿舍已迁出")
    page.save_pending()
    photo = tmp_path / "after.jpg"
    photo.write_bytes(jpeg())
    assert page.add_photo_files([photo]) == 1
    assert page.photo_label.text() == "已有 1 张"
    page.table.selectRow(1)
    click(qtbot, page.not_rectified)
    assert page.outcome_box.isVisible()
    new_deadline = local_date(clock()) + timedelta(days=20)
    page.new_deadline.setDate(QDate(new_deadline))
    assert results(page) == ["已整改", f"未整改 · 限期至 {new_deadline}"]
    assert page.finish_button.isEnabled()
    click(qtbot, page.finish_button)
    assert "已完成" in page.header.text() and page.documents.sign_button.isVisible()
    assert not page.rectified.isEnabled()
    with store.session() as s:
        assert s.get(Hazard, hazards[MAJOR]).status == HazardStatus.CLOSED
        assert ledger_row(s, hazards[MAJOR], local_date(clock())).status == CLOSED
        assert ledger_row(s, hazards[GENERAL], local_date(clock())).status == NOT_RECTIFIED
    with store.session() as s:
        number, pdf = reinspection_opinion_pdf(s, page.reinspection_id, store.photos_dir)
    assert number.startswith("（湘乡）应急复查〔2026〕")
    text = flat(pdf_text(pdf))
    assert "宿舍已迁出" in text and "整改后照片1张" in text and "未整改" in text


def test_reopening_continues_the_started_reinspection(qtbot, store, page, case):
    """Leaving and coming back from the ledger continues the same re-inspection."""
    click(qtbot, page.start_button)
    page.table.selectRow(0)
    click(qtbot, page.rectified)
    again = ReinspectionPage(store, None, original_id=case[0])
    qtbot.addWidget(again)
    assert again.reinspection_id == page.reinspection_id
    assert results(again)[0] == "已整改"


def test_opinion_is_signed_and_issued_like_the_other_documents(qtbot, store, page, case, monkeypatch):
    """After finishing, both inspectors and the manager sign; the 整改复查意见书 is stored signed."""
    import ui.documents_panel as panel_module
    from documents.demo_signing import squiggle_png
    from documents.signing import verify_pdf
    _insp, hazards = case
    click(qtbot, page.start_button)
    for row in range(2):
        page.table.selectRow(row)
        click(qtbot, page.rectified)
    click(qtbot, page.finish_button)
    panel = page.documents
    assert panel is not None and panel.sign_button.isVisible()
    monkeypatch.setattr(panel_module, "ask_signature", lambda *a, **k: (squiggle_png(3), False))
    monkeypatch.setattr(panel_module, "ask_text", lambda *a, **k: "口令12345678")
    with qtbot.waitSignal(panel.issued, timeout=60000):
        click(qtbot, panel.sign_button)
    assert panel.list.count() == 1 and "整改复查意见书" in panel.list.item(0).text()
    _title, path = panel._selected()
    report = verify_pdf(path)
    assert report.intact and len(report.signatures) == 2
    assert "均已整改" in flat(pdf_text(path.read_bytes()))
