"""The export and import dialogs: work off the UI thread, progress, report in Chinese."""
from __future__ import annotations

import json
import re
import sys
import types
import uuid
import zipfile
from datetime import timedelta

from PySide6.QtCore import Qt
from sqlalchemy import select, update

from models.inspection_rules import save_note
from models.tables import Answer, Inspection, InspectionStatus
from sync import crypto
from sync.export import export_bundle
from tests.conftest import Clock
from tests.sync.conftest import DEMO_NOW
from ui.sync_dialogs import ExportChoiceModel, ExportDialog, ImportDialog


def _run(qtbot, dialog, path) -> bool:
    dialog.path.setText(str(path))
    with qtbot.waitSignal(dialog.finished_work, timeout=30000) as blocker:
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def test_export_then_import_through_the_dialogs(qtbot, laptop_a, office, tmp_path):
    """Exporting shows where it went; importing shows the counts; the progress bar ends full."""
    export = ExportDialog(laptop_a)
    qtbot.addWidget(export)
    assert _run(qtbot, export, tmp_path / "a.fcb")
    assert "已导出到" in export.report.toPlainText() and export.progress.value() == 100
    dialog = ImportDialog(office)
    qtbot.addWidget(dialog)
    assert _run(qtbot, dialog, tmp_path / "a.fcb")
    assert "新增" in dialog.report.toPlainText() and dialog.start.isEnabled()
    assert _run(qtbot, dialog, tmp_path / "a.fcb")
    assert "新增 0 条，更新 0 条" in dialog.report.toPlainText()


def test_import_dialog_shows_why_a_bundle_is_refused(qtbot, office, tmp_path):
    """A broken file is refused in the dialog with the Chinese reason, and it can be retried."""
    junk = tmp_path / "junk.fcb"
    junk.write_bytes(b"PK not really")
    dialog = ImportDialog(office)
    qtbot.addWidget(dialog)
    assert not _run(qtbot, dialog, junk)
    assert "导出包无法使用" in dialog.report.toPlainText() and dialog.start.isEnabled()


def _clean_import(qtbot, office, path):
    dialog = ImportDialog(office)
    qtbot.addWidget(dialog)
    assert _run(qtbot, dialog, path)
    return dialog


def _change_a_draft(store) -> uuid.UUID:
    """A later note on an inspection still in progress; returns that inspection's id."""
    with store.session() as s:
        inspection_id, item_id = s.execute(
            select(Answer.inspection_id, Answer.item_id).join(Inspection)
            .where(Inspection.status == InspectionStatus.IN_PROGRESS)
            .order_by(Answer.answered_at)).first()
    store.clock = Clock(DEMO_NOW + timedelta(days=1))
    with store.transaction() as s:
        save_note(s, inspection_id, item_id, "笔记：复看后补充")
    return inspection_id


def _bundle_ids(path, table: str = "inspection") -> set[uuid.UUID]:
    with zipfile.ZipFile(path) as zf:
        records = json.loads(zf.read(f"records/{table}.json"))
    at = records["columns"].index("id")
    return {uuid.UUID(row[at]) for row in records["rows"]}


def _shown_export(qtbot, store) -> ExportDialog:
    dialog = ExportDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def _click_row(qtbot, dialog, row: int, col: int = ExportChoiceModel.COL_ENTERPRISE) -> None:
    rect = dialog.table.visualRect(dialog.choices.index(row, col))
    qtbot.mouseClick(dialog.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_default_scope_exports_only_what_changed_since_the_last_export(qtbot, laptop_a, tmp_path):
    """The recommended scope is preselected; a second export to the stick carries the one change."""
    (tmp_path / "stick").mkdir()
    dialog = ExportDialog(laptop_a)
    qtbot.addWidget(dialog)
    assert dialog.scope_changed.isChecked() and dialog.choices_box.isHidden()
    assert _run(qtbot, dialog, tmp_path / "stick" / "1.fcb")
    assert dialog.result.counts["inspection"] == 6
    changed = _change_a_draft(laptop_a)
    assert _run(qtbot, dialog, tmp_path / "stick" / "2.fcb")
    assert _bundle_ids(tmp_path / "stick" / "2.fcb") == {changed}
    assert dialog.result.counts["inspection"] == 1 and "检查 1 次" in dialog.report.toPlainText()


def test_everything_scope_exports_all_again(qtbot, laptop_a, tmp_path):
    """全部记录 ignores what was exported to that place before."""
    (tmp_path / "stick").mkdir()
    dialog = ExportDialog(laptop_a)
    qtbot.addWidget(dialog)
    assert _run(qtbot, dialog, tmp_path / "stick" / "1.fcb")
    dialog.scope_all.setChecked(True)
    assert _run(qtbot, dialog, tmp_path / "stick" / "2.fcb")
    assert dialog.result.counts["inspection"] == 6


def test_two_chosen_inspections_export_exactly_those(qtbot, laptop_a, tmp_path):
    """With 选定的检查 the list shows every inspection newest first; a click anywhere on a row
    ticks it, a second click unticks it; the bundle holds exactly the ticked ones."""
    dialog = _shown_export(qtbot, laptop_a)
    qtbot.mouseClick(dialog.scope_chosen, Qt.MouseButton.LeftButton)
    assert not dialog.choices_box.isHidden()
    rows = dialog.choices.rows
    assert len(rows) == 6 and [r.day for r in rows] == sorted((r.day for r in rows), reverse=True)
    assert any(re.fullmatch(r"\d{4}年第\d+号", r.case_number) for r in rows)
    assert {r.status for r in rows} >= {"检查中", "已定稿"}
    _click_row(qtbot, dialog, 1)
    _click_row(qtbot, dialog, 3, ExportChoiceModel.COL_CASE)
    _click_row(qtbot, dialog, 4, ExportChoiceModel.COL_CHECK)
    _click_row(qtbot, dialog, 4, ExportChoiceModel.COL_HAZARDS)  # and off again
    chosen = {rows[1].id, rows[3].id}
    assert dialog.choices.checked == chosen and "已选 2 次检查" in dialog.chosen_count.text()
    assert _run(qtbot, dialog, tmp_path / "two.fcb")
    assert dialog.result.counts["inspection"] == 2
    assert _bundle_ids(tmp_path / "two.fcb") == chosen


def test_search_filters_the_list_by_enterprise_and_keeps_the_ticks(qtbot, laptop_a):
    """Typing part of a name narrows the list; ticks made before stay, and are counted."""
    dialog = _shown_export(qtbot, laptop_a)
    dialog.scope_chosen.setChecked(True)
    everyone = list(dialog.choices.rows)
    first = everyone[0]
    _click_row(qtbot, dialog, 0)
    dialog.search.setText("冷链")
    assert [r.enterprise for r in dialog.choices.rows] == ["湘乡市湘味冷链物流有限公司"]
    assert "均不在当前查找结果中" in dialog.chosen_count.text()
    dialog.search.setText("不存在的单位")
    assert dialog.choices.rowCount() == 0 and "没有找到" in dialog.chosen_count.text()
    dialog.search.clear()
    assert dialog.choices.rows == everyone and dialog.choices.checked == {first.id}


def test_nothing_chosen_cannot_start(qtbot, laptop_a, tmp_path):
    """With no inspection ticked the start button is disabled and the dialog says why;
    全选 ticks the shown ones, 全不选 unticks them."""
    dialog = _shown_export(qtbot, laptop_a)
    dialog.path.setText(str(tmp_path / "none.fcb"))
    dialog.scope_chosen.setChecked(True)
    assert not dialog.start.isEnabled() and "请至少勾选" in dialog.chosen_count.text()
    dialog.search.setText("纸业")
    qtbot.mouseClick(dialog.check_all, Qt.MouseButton.LeftButton)
    assert dialog.choices.checked == {r.id for r in dialog.choices.rows}
    assert len(dialog.choices.checked) == 1 and dialog.start.isEnabled()
    dialog.search.clear()
    qtbot.mouseClick(dialog.check_all, Qt.MouseButton.LeftButton)
    assert len(dialog.choices.checked) == 6
    qtbot.mouseClick(dialog.check_none, Qt.MouseButton.LeftButton)
    assert not dialog.choices.checked and not dialog.start.isEnabled()
    dialog.run()  # even if called some other way: nothing is written
    assert "请至少勾选" in dialog.report.toPlainText() and not (tmp_path / "none.fcb").exists()
    dialog.scope_changed.setChecked(True)
    assert dialog.start.isEnabled() and dialog.choices_box.isHidden()


def test_encryption_line_says_whether_the_office_key_is_installed(qtbot, laptop_a, office,
                                                                  tmp_path):
    """Before exporting, the dialog says whether only the office will be able to open the bundle."""
    plain = ExportDialog(laptop_a)
    qtbot.addWidget(plain)
    assert plain.encryption.text() == "未安装办公室公钥：导出包不加密（签名仍可防篡改）"
    crypto.create_office_key(office.data_dir, tmp_path / "office.pub")
    crypto.install_office_public(laptop_a.data_dir, tmp_path / "office.pub")
    sealed = ExportDialog(laptop_a)
    qtbot.addWidget(sealed)
    assert sealed.encryption.text() == "将加密：只有办公室能打开该导出包"
    assert _run(qtbot, sealed, tmp_path / "sealed.fcb") and sealed.result.encrypted
    assert "导出包已加密" in sealed.report.toPlainText()


def test_conflicts_button_only_after_an_import_with_conflicts(qtbot, laptop_a, office, tmp_path,
                                                              monkeypatch):
    """查看冲突… appears when the import kept conflicts aside and opens them for that bundle."""
    opened = []

    class FakeConflictsDialog:
        def __init__(self, data_dir, parent, bundle_id, store):
            opened.append((data_dir, parent, bundle_id, store))

        def exec(self):
            opened.append("exec")

    fake = types.ModuleType("ui.conflicts_dialog")
    fake.ConflictsDialog = FakeConflictsDialog
    monkeypatch.setitem(sys.modules, "ui.conflicts_dialog", fake)
    export_bundle(laptop_a, tmp_path / "1.fcb")
    dialog = ImportDialog(office)
    qtbot.addWidget(dialog)
    assert dialog.conflicts_button.isHidden()
    assert _run(qtbot, dialog, tmp_path / "1.fcb")
    assert dialog.result.total("conflict") == 0 and dialog.conflicts_button.isHidden()
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(
            Inspection.status == InspectionStatus.FINALIZED)).first()
    with laptop_a.engine.begin() as conn:  # another version, made behind the guard's back
        conn.execute(update(Inspection.__table__).where(Inspection.id == finalized)
                     .values(place="被改动的检查场所", updated_at=DEMO_NOW + timedelta(days=1)))
    export_bundle(laptop_a, tmp_path / "2.fcb", everything=True)
    assert _run(qtbot, dialog, tmp_path / "2.fcb")
    assert dialog.result.total("conflict") == 1 and not dialog.conflicts_button.isHidden()
    qtbot.mouseClick(dialog.conflicts_button, Qt.MouseButton.LeftButton)
    assert opened == [(office.data_dir, dialog, dialog.result.bundle_id, office), "exec"]
    assert _run(qtbot, dialog, tmp_path / "1.fcb")
    assert dialog.result.total("conflict") == 0 and dialog.conflicts_button.isHidden()
