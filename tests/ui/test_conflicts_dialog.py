"""The 导入冲突 screen, used as an inspector would, on conflicts made by a real import."""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton
from sqlalchemy import select

from models.tables import Enterprise, Inspection
from tests.sync import conftest as sync_fixtures
from tests.sync.test_conflicts_view import (CHANGED_PLACE, PDF_NAME, first_finalized,
                                            import_changed_place, import_new_answer_and_hazard,
                                            import_new_row_on_finalized,
                                            import_other_document_bytes, short)
from ui import conflicts_dialog
from ui.conflicts_dialog import DIFF_BACKGROUND, HEADERS, ConflictsDialog
from ui.main_window import MainWindow

# The laptop and office data folders of the sync tests (a demo laptop, an empty office).
agency_templates, demo_template, laptop_a, office = (
    sync_fixtures.agency_templates, sync_fixtures.demo_template, sync_fixtures.laptop_a,
    sync_fixtures.office)


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick(qtbot, checkbox) -> None:
    """Click the box itself (a checkbox's middle may be empty space right of its text)."""
    qtbot.mouseClick(checkbox, Qt.MouseButton.LeftButton, pos=QPoint(8, checkbox.height() // 2))


def table_rows(dialog) -> list[tuple[str, str, str]]:
    t = dialog.table
    return [tuple(t.item(r, c).text() for c in range(3)) for r in range(t.rowCount())]


def row_of(dialog, label: str) -> int:
    for r in range(dialog.table.rowCount()):
        if dialog.table.item(r, 0).text() == label:
            return r
    raise AssertionError(f"{label} not shown: {table_rows(dialog)}")


def highlighted(dialog, row: int) -> bool:
    items = [dialog.table.item(row, c) for c in range(3)]
    return all(i.font().bold() and i.background().color().name() == DIFF_BACKGROUND
               for i in items)


def open_dialog(qtbot, data_dir: Path, **kwargs) -> ConflictsDialog:
    dialog = ConflictsDialog(data_dir, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


class FakeDesktop:
    """Stands in for QDesktopServices: records what would have been opened."""

    opened: ClassVar[list] = []

    @classmethod
    def openUrl(cls, url) -> bool:
        cls.opened.append(url)
        return True


@pytest.fixture
def desktop(monkeypatch):
    FakeDesktop.opened = []
    monkeypatch.setattr(conflicts_dialog, "QDesktopServices", FakeDesktop)
    return FakeDesktop


def test_the_conflict_shows_both_versions_side_by_side(qtbot, laptop_a, office, tmp_path):
    """Listed with what it is and where it came from; the changed place highlighted."""
    original = first_finalized(laptop_a)
    report = import_changed_place(laptop_a, office, tmp_path)
    dialog = open_dialog(qtbot, office.data_dir)
    assert dialog.windowTitle() == "导入冲突"
    assert "本机" in dialog.explanation.text() and "更正" in dialog.explanation.text()
    assert dialog.list.count() == 1
    entry = dialog.list.item(0).text()
    assert entry.startswith(f"检查：{original.place}") and laptop_a.device_id[:8] in entry
    assert report.bundle_id[:8] in dialog.meta.text()
    assert [dialog.table.horizontalHeaderItem(c).text() for c in range(3)] == list(HEADERS)
    place = row_of(dialog, "检查场所")
    assert table_rows(dialog)[place] == ("检查场所", original.place, CHANGED_PLACE)
    assert highlighted(dialog, place)
    assert dialog.table.isVisible() and not dialog.empty_label.isVisible()


def test_given_the_store_linked_fields_read_as_names(qtbot, laptop_a, office, tmp_path):
    """企业 reads as the enterprise's name with a short id; the full id is in the tooltip.
    Without the store the same dialog shows the bare id, as before."""
    inspection_id = first_finalized(laptop_a).id
    import_changed_place(laptop_a, office, tmp_path)
    with office.session() as s:
        enterprise_id, name = s.execute(
            select(Enterprise.id, Enterprise.name)
            .join(Inspection, Inspection.enterprise_id == Enterprise.id)
            .where(Inspection.id == inspection_id)).one()
    dialog = open_dialog(qtbot, office.data_dir, store=office)
    tick(qtbot, dialog.only_differences)  # the enterprise did not change: show every field
    company = row_of(dialog, "企业")
    expected = f"{name}（{short(enterprise_id)}）"
    assert table_rows(dialog)[company] == ("企业", expected, expected)
    assert str(enterprise_id) in dialog.table.item(company, 1).toolTip()
    assert not highlighted(dialog, company)
    bare = open_dialog(qtbot, office.data_dir)
    tick(qtbot, bare.only_differences)
    assert table_rows(bare)[row_of(bare, "企业")][1:] == (str(enterprise_id),) * 2


def test_a_link_to_a_record_not_here_reads_so(qtbot, laptop_a, office, tmp_path):
    """The kept-aside hazard's answer was kept aside too: 检查项答复 says this store lacks it."""
    _report, answer_id, item_code = import_new_answer_and_hazard(laptop_a, office, tmp_path)
    original = first_finalized(laptop_a)
    dialog = open_dialog(qtbot, office.data_dir, store=office)
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    dialog.list.setCurrentRow(next(i for i, t in enumerate(texts) if t.startswith("隐患")))
    rows = table_rows(dialog)
    assert rows[row_of(dialog, "检查项答复")][1:] == ("（本机无此记录）",
                                                 f"（本机无此记录）（{short(answer_id)}）")
    inspection = rows[row_of(dialog, "所属检查")][2]
    assert inspection.startswith(original.place)
    assert f"{original.case_year}年第{original.case_serial}号（{short(original.id)}）" in inspection
    assert rows[row_of(dialog, "检查项")][2].startswith(item_code)


def test_only_differing_fields_by_default_and_all_on_request(qtbot, laptop_a, office, tmp_path):
    """The checkbox hides the identical fields; unticked, they come back unhighlighted."""
    import_changed_place(laptop_a, office, tmp_path)
    dialog = open_dialog(qtbot, office.data_dir)
    assert dialog.only_differences.isChecked()
    assert {r[0] for r in table_rows(dialog)} == {"检查场所", "修改时间"}
    assert all(highlighted(dialog, r) for r in range(dialog.table.rowCount()))
    tick(qtbot, dialog.only_differences)
    assert not dialog.only_differences.isChecked()
    labels = [r[0] for r in table_rows(dialog)]
    assert {"检查场所", "状态", "开始时间", "案件序号"} <= set(labels)
    status = row_of(dialog, "状态")
    assert table_rows(dialog)[status][1:] == ("已定稿", "已定稿")
    assert not highlighted(dialog, status) and not dialog.table.item(status, 1).font().bold()
    assert labels.index("检查场所") < labels.index("状态")  # differences stay on top
    tick(qtbot, dialog.only_differences)
    assert dialog.table.rowCount() == 2


def test_open_folder_goes_to_the_kept_file(qtbot, laptop_a, office, tmp_path, desktop):
    report = import_changed_place(laptop_a, office, tmp_path)
    dialog = open_dialog(qtbot, office.data_dir)
    expected = report.conflicts_dir / "inspection"
    assert Path(dialog.folder_url().toLocalFile()) == expected
    click(qtbot, dialog.folder_button)
    assert [Path(u.toLocalFile()) for u in desktop.opened] == [expected]


def test_both_pdfs_of_a_document_conflict_can_be_opened(qtbot, laptop_a, office, tmp_path,
                                                        desktop):
    """Selecting the document file offers the local and the imported PDF."""
    report = import_other_document_bytes(laptop_a, office, tmp_path)
    dialog = open_dialog(qtbot, office.data_dir)
    assert not dialog.open_local.isVisible()  # the document *record* is first: no files
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    dialog.list.setCurrentRow(next(i for i, t in enumerate(texts) if t.startswith("文书文件")))
    assert dialog.open_local.isVisible() and dialog.open_incoming.isVisible()
    assert {r[0] for r in table_rows(dialog)} == {"大小", "SHA-256 校验值"}
    click(qtbot, dialog.open_local)
    click(qtbot, dialog.open_incoming)
    assert [Path(u.toLocalFile()) for u in desktop.opened] == [
        office.data_dir / "documents" / PDF_NAME, report.conflicts_dir / "documents" / PDF_NAME]


def test_a_row_missing_here_says_so(qtbot, laptop_a, office, tmp_path):
    import_new_row_on_finalized(laptop_a, office, tmp_path)
    dialog = open_dialog(qtbot, office.data_dir)
    assert "本机没有这条记录" in dialog.note.text() and dialog.note.isVisible()
    assert all(r[1] == "（本机无此记录）" for r in table_rows(dialog))
    assert "3" in [r[2] for r in table_rows(dialog)]


def test_a_damaged_conflict_file_is_explained_not_shown(qtbot, laptop_a, office, tmp_path):
    report = import_changed_place(laptop_a, office, tmp_path)
    (report.conflicts_dir / "inspection" / "damaged.json").write_text("{", "utf-8")
    dialog = open_dialog(qtbot, office.data_dir)
    assert dialog.list.count() == 2
    dialog.list.setCurrentRow(1)
    assert "damaged.json" in dialog.list.item(1).text()
    assert "已损坏" in dialog.note.text() and not dialog.table.isVisible()
    dialog.list.setCurrentRow(0)
    assert dialog.table.isVisible() and dialog.table.rowCount() == 2


def test_one_bundle_only(qtbot, laptop_a, office, tmp_path):
    first = import_changed_place(laptop_a, office, tmp_path, place="第一次改动", name="2.fcb")
    import_changed_place(laptop_a, office, tmp_path, place="第二次改动", name="3.fcb")
    assert open_dialog(qtbot, office.data_dir).list.count() == 2
    dialog = open_dialog(qtbot, office.data_dir, bundle_id=first.bundle_id)
    assert dialog.list.count() == 1
    assert table_rows(dialog)[row_of(dialog, "检查场所")][2] == "第一次改动"


def test_no_conflicts_says_so(qtbot, office, desktop):
    dialog = open_dialog(qtbot, office.data_dir)
    assert dialog.empty_label.isVisible() and dialog.empty_label.text() == "没有导入冲突"
    assert not dialog.list.isVisible() and not dialog.folder_button.isVisible()
    assert dialog.folder_url() is None
    dialog.open_folder()
    assert desktop.opened == []
    click(qtbot, dialog.close_button)
    assert not dialog.isVisible()


def test_main_window_button_opens_every_conflict(qtbot, laptop_a, office, tmp_path, monkeypatch):
    """「导入冲突…」 in the main window shows this store's conflicts, from any import."""
    import_changed_place(laptop_a, office, tmp_path)
    shown = []
    monkeypatch.setattr(ConflictsDialog, "exec", lambda self: shown.append(self.conflicts) or 0)
    window = MainWindow(office)
    qtbot.addWidget(window)
    click(qtbot, window.findChild(QPushButton, "nav_conflicts"))
    [conflicts] = shown
    assert [c.table for c in conflicts] == ["inspection"]
    firm = next(r for r in conflicts[0].fields() if r.column == "enterprise_id")
    assert "有限公司" in firm.local  # linked records by name: the window passes its store
