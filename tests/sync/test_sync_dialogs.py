"""The export and import dialogs: work off the UI thread, progress, report in Chinese."""
from __future__ import annotations

from PySide6.QtCore import Qt

from ui.sync_dialogs import ExportDialog, ImportDialog


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
