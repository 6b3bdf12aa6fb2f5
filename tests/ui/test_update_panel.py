"""设置 → 软件更新 as the user meets it: pick the update on the stick, 「检查更新」 verifies it;
only a verified copy can be installed, anything else is refused in one Chinese line."""
from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from PySide6.QtCore import Qt

from release import signature, update
from tests.release.test_signature import flip_byte
from ui.settings_dialog import SettingsDialog
from ui.update_panel import UpdatePanel


@pytest.fixture
def office_key(monkeypatch):
    key = ed25519.Ed25519PrivateKey.generate()
    monkeypatch.setattr(signature, "pinned_keys", lambda: [key.public_key()])
    return key


@pytest.fixture
def stick_deb(tmp_path) -> Path:
    path = tmp_path / "stick" / "fieldcheck_0.2.0_amd64.deb"
    path.parent.mkdir()
    path.write_bytes(b"!<arch>\n" + b"debian package" * 10000)
    return path


def open_panel(qtbot, store, chosen: Path, keep: list) -> UpdatePanel:
    dialog = SettingsDialog(store)
    keep.append(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    dialog.tabs.setCurrentIndex(titles.index("软件更新"))
    panel = dialog.tabs.currentWidget()
    panel.choose_file = lambda: str(chosen)  # what the user picks in the file dialog
    qtbot.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    return panel


def test_signed_update_can_be_installed(qtbot, store, stick_deb, office_key):
    signature.sign_release(stick_deb, office_key)
    panel = open_panel(qtbot, store, stick_deb, keep := [])
    assert panel.install_button.isEnabled()
    assert panel.result.text().startswith("签名有效：FieldCheck 0.2.0")
    release, copy = panel.verified
    assert copy.read_bytes() == stick_deb.read_bytes() and copy.is_relative_to(store.data_dir)


@pytest.mark.parametrize("spoil", ["unsigned", "flipped", "other_key"])
def test_bad_update_is_refused_in_one_line(qtbot, store, stick_deb, office_key, spoil):
    if spoil == "other_key":
        signature.sign_release(stick_deb, ed25519.Ed25519PrivateKey.generate())
    elif spoil == "flipped":
        signature.sign_release(stick_deb, office_key)
        flip_byte(stick_deb, 5000)
    panel = open_panel(qtbot, store, stick_deb, keep := [])
    assert not panel.install_button.isEnabled() and panel.verified is None
    text = panel.result.text()
    assert text.startswith("更新未通过校验，未安装：") and "\n" not in text
    assert not list((store.data_dir / update.UPDATES_DIR).rglob("*.deb"))


def test_windows_kit_is_refused_on_linux(qtbot, store, tmp_path, office_key):
    kit = tmp_path / "stick" / "fieldcheck-windows-kit"
    kit.mkdir(parents=True)
    (kit / "VERSION").write_text("0.2.0\n")
    (kit / "install.ps1").write_text("Write-Host ok\n")
    signature.sign_release(kit, office_key)
    panel = open_panel(qtbot, store, kit / "install.ps1", keep := [])
    assert not panel.install_button.isEnabled()
    assert "不适用于本机" in panel.result.text()
