"""#11 in the GUI: the fingerprint of a new device compared in the import dialog, the key
passphrase asked where no keyring exists and changed in 设置, the enrollment file installed."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from sync import agency, crypto, keystore
from sync.export import export_bundle
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import AGENCY_PASSPHRASE
from tests.ui.test_settings_dialogs import when_modal_opens
from ui.settings_dialog import SettingsDialog
from ui.sync_dialogs import ExportDialog, ImportDialog
from ui.trust_dialogs import ChangePassphraseDialog, PassphraseDialog, TrustDeviceDialog

agency_templates, laptop_a, office, stranger = (
    sync_fixtures.agency_templates, sync_fixtures.laptop_a, sync_fixtures.office,
    sync_fixtures.stranger)


def _run_answering(qtbot, dialog, path, answer) -> bool:
    """Start; when the dialog asks (its `pending` question is shown), answer it as the user
    would; wait for the end."""
    dialog.path.setText(str(path))
    with qtbot.waitSignal(dialog.finished_work, timeout=60000) as blocker:
        qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.pending is not None and dialog.pending.isVisible(),
                        timeout=30000)
        answer(dialog.pending)
    return blocker.args[0]


def test_new_device_is_trusted_only_after_typing_its_fingerprint(qtbot, laptop_a, stranger,
                                                                 tmp_path):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    fp = crypto.device_fingerprint(laptop_a.data_dir)
    seen = {}

    def compare(dialog: TrustDeviceDialog):
        qtbot.keyClicks(dialog.typed, "51E7-FE21-59BB-A270")         # what a forger would show
        seen["wrong"] = (dialog.ok.isEnabled(), dialog.verdict.text())
        dialog.typed.clear()
        qtbot.keyClicks(dialog.typed, fp.replace("-", "").lower())  # read off the other laptop
        seen["right"] = dialog.ok.isEnabled()
        dialog.grab().save(str(tmp_path / "trust.png"))
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    dialog = ImportDialog(stranger)
    qtbot.addWidget(dialog)
    assert _run_answering(qtbot, dialog, tmp_path / "a.fcb", compare), dialog.report.toPlainText()
    assert seen["wrong"] == (False, "指纹不一致：不要导入该导出包，并报告管理员") and seen["right"]
    assert "新增" in dialog.report.toPlainText() and fp in dialog.report.toPlainText()
    assert crypto.known_device_key(stranger.data_dir, laptop_a.device_id) is not None


def test_cancelled_fingerprint_check_imports_nothing(qtbot, laptop_a, stranger, tmp_path):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    dialog = ImportDialog(stranger)
    qtbot.addWidget(dialog)

    def cancel(d):
        assert isinstance(d, TrustDeviceDialog)
        qtbot.mouseClick(d.findChildren(QPushButton)[-1], Qt.MouseButton.LeftButton)  # 取消
    assert not _run_answering(qtbot, dialog, tmp_path / "a.fcb", cancel)
    assert "首次收到设备" in dialog.report.toPlainText()
    assert crypto.known_device_key(stranger.data_dir, laptop_a.device_id) is None


def test_export_asks_the_key_passphrase_when_there_is_no_keyring(qtbot, laptop_a, tmp_path,
                                                                  monkeypatch):
    monkeypatch.delenv(keystore.ENV_PASSPHRASE)
    keystore.forget(laptop_a.data_dir)

    def type_it(dialog: PassphraseDialog):
        assert isinstance(dialog, PassphraseDialog)
        qtbot.keyClicks(dialog.passphrase, "test-device-passphrase")
        qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    dialog = ExportDialog(laptop_a)
    qtbot.addWidget(dialog)
    try:
        assert _run_answering(qtbot, dialog, tmp_path / "a.fcb", type_it)
    finally:
        keystore.forget(laptop_a.data_dir)
    assert "已导出到" in dialog.report.toPlainText()


def test_passphrase_changed_in_settings(qtbot, laptop_a, monkeypatch):
    settings = SettingsDialog(laptop_a)
    qtbot.addWidget(settings)
    assert settings.tabs.tabText(2) == "机构与密钥"
    assert "湘乡市应急管理局" in settings.agency_panel.status.text()
    dialog = ChangePassphraseDialog(laptop_a)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.old, "wrong-passphrase")
    qtbot.keyClicks(dialog.new, "a-new-passphrase")
    qtbot.keyClicks(dialog.again, "a-new-passphrase")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert "口令不正确" in dialog.problem.text()
    dialog.old.clear()
    qtbot.keyClicks(dialog.old, "test-device-passphrase")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    assert dialog.result() == dialog.DialogCode.Accepted
    keystore.forget(laptop_a.data_dir)
    monkeypatch.delenv(keystore.ENV_PASSPHRASE)
    with pytest.raises(keystore.KeyLocked):
        crypto.device_signing_key(laptop_a.data_dir)
    from models.errors import FieldCheckError
    with pytest.raises(FieldCheckError, match="口令不正确"):
        crypto.device_signing_key(laptop_a.data_dir, "test-device-passphrase")
    assert crypto.device_signing_key(laptop_a.data_dir, "a-new-passphrase") is not None


def test_enrollment_file_installed_from_settings(qtbot, office, stranger, tmp_path):
    key = crypto.device_signing_key(stranger.data_dir)
    request = agency.make_request(stranger.data_dir, stranger.device_id, [], key, [])
    done = agency.enroll(office.data_dir, request, AGENCY_PASSPHRASE)
    path = tmp_path / "enrollment.json"
    path.write_text(json.dumps(done.document), "utf-8")
    settings = SettingsDialog(stranger)
    qtbot.addWidget(settings)
    panel = settings.agency_panel
    assert "尚未加入机构" in panel.status.text()
    ca_fp = agency.cert_fingerprint(agency.installed_ca(office.data_dir))
    shown = []

    def refuse(box):
        shown.append(box.text())
        next(b for b in box.buttons() if b.text() == "不一致，取消").click()
    when_modal_opens(refuse)
    assert not panel.join(path)              # a first join asks to compare the CA fingerprint
    assert ca_fp in shown[0] and "湘乡市应急管理局" in shown[0]
    assert "未加入机构" in panel.result.text() and agency.installed_ca(stranger.data_dir) is None

    def accept(box):
        next(b for b in box.buttons() if b.text() == "一致，加入").click()
    when_modal_opens(accept)
    assert panel.join(path)
    assert "已加入机构：湘乡市应急管理局" in panel.result.text()
    assert f"{done.case_range[0]}–{done.case_range[1]}" in panel.status.text()
    settings.tabs.setCurrentIndex(2)
    settings.grab().save(str(tmp_path / "settings.png"))
    assert not panel.join(path)              # the same file again: a replay
    assert "不比本机已安装的" in panel.result.text()


def test_enrolled_laptop_cannot_edit_its_first_serial(qtbot, laptop_a):
    settings = SettingsDialog(laptop_a)
    qtbot.addWidget(settings)
    assert not settings.serial_start.isEnabled()
    assert "编号段" in settings.serial_start.toolTip()
