"""#11 point 6: the device key and the office key are encrypted at rest, 0600 in a 0700 folder;
the OS keyring is used where a real backend exists, the passphrase path otherwise."""
from __future__ import annotations

import json
import stat

import keyring
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from keyring.backend import KeyringBackend

from main import main
from sync import crypto, keystore
from sync.export import export_bundle


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_device_key_is_encrypted_and_private(laptop_a, tmp_path, monkeypatch):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    pem = (laptop_a.data_dir / crypto.DEVICE_KEY_FILE).read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(TypeError):   # not readable without the passphrase
        serialization.load_pem_private_key(pem, password=None)
    assert _mode(laptop_a.data_dir / crypto.DEVICE_KEY_FILE) == 0o600
    assert _mode(laptop_a.data_dir / "keys") == 0o700
    monkeypatch.delenv(keystore.ENV_PASSPHRASE)
    with pytest.raises(keystore.KeyLocked):
        crypto.device_signing_key(laptop_a.data_dir)
    # the fingerprint needs no passphrase (status, 设置)
    assert crypto.device_fingerprint(laptop_a.data_dir).count("-") == 3


def test_office_key_is_encrypted(office, tmp_path):
    crypto.create_office_key(office.data_dir, tmp_path / "office.pub")
    pem = (office.data_dir / crypto.OFFICE_PRIVATE_FILE).read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem and _mode(office.data_dir / crypto.OFFICE_PRIVATE_FILE) == 0o600
    assert crypto.office_private_key(office.data_dir) is not None


def test_agency_key_is_encrypted_under_its_own_passphrase(office):
    pem = (office.data_dir / "keys" / "agency-ca.pem").read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in pem
    with pytest.raises(Exception):
        serialization.load_pem_private_key(pem, password=b"test-device-passphrase")


def test_key_of_an_earlier_version_is_encrypted_when_next_used(stranger):
    key = ed25519.Ed25519PrivateKey.generate()
    path = stranger.data_dir / crypto.DEVICE_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    assert crypto.public_key_text(crypto.device_signing_key(stranger.data_dir)) == \
        crypto.public_key_text(key)
    assert b"ENCRYPTED" in path.read_bytes()


def test_keyrings_fail_backend_is_detected(monkeypatch):
    """This machine has no keyring backend: keyring falls back to its `fail` backend, which
    FieldCheck recognises (and then uses the passphrase)."""
    monkeypatch.delenv(keystore.ENV_NO_KEYRING)
    from keyring.backends import fail
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    assert keystore.usable_keyring() is None


class _Vault(KeyringBackend):
    """An OS keyring as the keyring library sees one (the real ones need a desktop session)."""
    priority = 5

    def __init__(self):
        super().__init__()
        self.secrets = {}

    def get_password(self, service, username):
        return self.secrets.get((service, username))

    def set_password(self, service, username, password):
        self.secrets[(service, username)] = password

    def delete_password(self, service, username):
        self.secrets.pop((service, username), None)


def test_keyring_holds_the_secret_where_one_exists(stranger, monkeypatch):
    monkeypatch.delenv(keystore.ENV_NO_KEYRING)
    monkeypatch.delenv(keystore.ENV_PASSPHRASE)
    vault = _Vault()
    monkeypatch.setattr(keyring, "get_keyring", lambda: vault)
    key = crypto.device_signing_key(stranger.data_dir)     # no passphrase asked
    assert len(vault.secrets) == 1
    assert json.loads((stranger.data_dir / keystore.PROTECTION_FILE).read_text())[
        crypto.DEVICE_KEY_NAME] == "keyring"
    assert b"ENCRYPTED" in (stranger.data_dir / crypto.DEVICE_KEY_FILE).read_bytes()
    assert crypto.public_key_text(crypto.device_signing_key(stranger.data_dir)) == \
        crypto.public_key_text(key)


def test_cli_without_passphrase_says_how_to_give_one(laptop_a, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(keystore.ENV_PASSPHRASE)
    laptop_a.close()
    assert main(["export", "--out", str(tmp_path / "a.fcb"), "--data-dir", str(laptop_a.data_dir)]) == 2
    err = capsys.readouterr().err
    assert "受口令保护" in err and "FIELDCHECK_KEY_PASSPHRASE" in err
    assert not (tmp_path / "a.fcb").exists()
    monkeypatch.setenv(keystore.ENV_PASSPHRASE, "test-device-passphrase")
    assert main(["export", "--out", str(tmp_path / "a.fcb"), "--data-dir", str(laptop_a.data_dir)]) == 0


def test_short_key_passphrase_is_refused(stranger):
    with pytest.raises(Exception, match="至少需要 8 个字符"):
        crypto.device_signing_key(stranger.data_dir, "short")
