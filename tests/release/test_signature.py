"""An update from the office is installed only when the pinned release key signed exactly
these bytes: a flipped byte, a missing signature, another key, an extra file are refused."""
from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import main
from release import signature, update
from release.signature import UpdateRefused, sign_release, verify_release


@pytest.fixture
def office_key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture
def deb(tmp_path) -> Path:
    path = tmp_path / "stick" / "fieldcheck_0.2.0_amd64.deb"
    path.parent.mkdir()
    path.write_bytes(b"!<arch>\n" + bytes(range(256)) * 4000)
    return path


@pytest.fixture
def kit(tmp_path) -> Path:
    folder = tmp_path / "stick" / "fieldcheck-windows-kit"
    (folder / "wheels").mkdir(parents=True)
    (folder / "VERSION").write_text("0.2.0\n")
    (folder / "install.ps1").write_text("Write-Host ok\n")
    (folder / "wheels" / "fieldcheck-0.2.0-py3-none-any.whl").write_bytes(b"PK wheel")
    return folder


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_signed_package_verifies(deb, office_key):
    """The version and the signer's fingerprint come back from a good signature."""
    sign_release(deb, office_key)
    release = verify_release(deb, keys=[office_key.public_key()])
    assert (release.version, release.kind, release.name) == ("0.2.0", "deb", deb.name)
    assert release.signer == signature.key_fingerprint(office_key.public_key())


def test_flipped_byte_is_refused(deb, office_key):
    sign_release(deb, office_key)
    flip_byte(deb, 100_000)
    with pytest.raises(UpdateRefused, match="与签名不符"):
        verify_release(deb, keys=[office_key.public_key()])


def test_missing_signature_is_refused(deb, office_key):
    with pytest.raises(UpdateRefused, match="未签名"):
        verify_release(deb, keys=[office_key.public_key()])


def test_signature_by_another_key_is_refused(deb, office_key):
    """Someone with a key of their own signs a package: the laptop trusts only the pinned one."""
    sign_release(deb, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(UpdateRefused, match="不是本单位发布密钥"):
        verify_release(deb, keys=[office_key.public_key()])


def test_shipped_pinned_key_refuses_a_stranger(deb):
    """With the key in resources/release/ (the default), a stranger's signature is refused."""
    assert signature.pinned_keys(), "resources/release/ must ship the release public key"
    sign_release(deb, ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(UpdateRefused):
        verify_release(deb)


def test_edited_statement_is_refused(deb, office_key):
    """Raising the version inside the signature file breaks the signature."""
    sig_path = sign_release(deb, office_key)
    raw = json.loads(sig_path.read_text())
    body = json.loads(base64.b64decode(raw["statement"]))
    body["version"] = "9.9.9"
    raw["statement"] = base64.b64encode(json.dumps(body).encode()).decode()
    sig_path.write_text(json.dumps(raw))
    with pytest.raises(UpdateRefused, match="不是本单位发布密钥"):
        verify_release(deb, keys=[office_key.public_key()])


def test_renamed_package_is_refused(deb, office_key):
    sign_release(deb, office_key)
    other = deb.with_name("fieldcheck_9.9.9_amd64.deb")
    deb.rename(other)
    signature.signature_path(deb).rename(signature.signature_path(other))
    with pytest.raises(UpdateRefused):
        verify_release(other, keys=[office_key.public_key()])


def test_kit_folder_with_an_extra_wheel_is_refused(kit, office_key):
    """A wheel slipped into the kit (pip would pick it) is refused like a changed one."""
    sign_release(kit, office_key)
    assert verify_release(kit, keys=[office_key.public_key()]).kind == "windows-kit"
    (kit / "wheels" / "evil-9.0-py3-none-any.whl").write_bytes(b"PK")
    with pytest.raises(UpdateRefused, match="evil"):
        verify_release(kit, keys=[office_key.public_key()])


def test_received_copy_is_what_was_verified(deb, office_key, tmp_path):
    """The update is copied off the stick first; the copy is verified and kept for install."""
    sign_release(deb, office_key)
    release, copy = update.receive_update(signature.signature_path(deb), tmp_path / "data",
                                          keys=[office_key.public_key()])
    assert release.version == "0.2.0" and copy.read_bytes() == deb.read_bytes()
    assert update.install_command(release, copy)[-1] == str(copy.resolve())


def test_refused_update_leaves_no_copy(deb, office_key, tmp_path):
    sign_release(deb, office_key)
    flip_byte(deb, 7)
    with pytest.raises(UpdateRefused):
        update.receive_update(deb, tmp_path / "data", keys=[office_key.public_key()])
    assert not any((tmp_path / "data" / update.UPDATES_DIR).rglob("*.deb"))


def test_cli_signs_and_verifies(deb, tmp_path, monkeypatch, capsys):
    """The office's keygen and sign, the laptop's verify: exit 0, then 2 with one Chinese line
    once a byte is flipped."""
    monkeypatch.setenv("FIELDCHECK_RELEASE_PASSPHRASE", "办公室口令")
    assert main.main(["release", "keygen", "--out", str(tmp_path / "keys")]) == 0
    assert main.main(["release", "sign", str(deb), "--key",
                      str(tmp_path / "keys" / "release-private.pem")]) == 0
    public = signature.serialization.load_pem_public_key(
        (tmp_path / "keys" / "fieldcheck-release.pub").read_bytes())
    monkeypatch.setattr(signature, "pinned_keys", lambda: [public])
    capsys.readouterr()
    assert main.main(["release", "verify", str(deb)]) == 0
    assert "校验通过：FieldCheck 0.2.0" in capsys.readouterr().out
    flip_byte(deb, 3)
    assert main.main(["release", "verify", str(deb)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("错误：更新未通过校验")


def test_wrong_passphrase_says_so(deb, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FIELDCHECK_RELEASE_PASSPHRASE", "对的")
    main.main(["release", "keygen", "--out", str(tmp_path / "keys")])
    monkeypatch.setenv("FIELDCHECK_RELEASE_PASSPHRASE", "错的")
    capsys.readouterr()
    assert main.main(["release", "sign", str(deb), "--key",
                      str(tmp_path / "keys" / "release-private.pem")]) == 2
    assert "口令" in capsys.readouterr().err
    assert not signature.signature_path(deb).exists()


def test_older_signed_version_is_refused(tmp_path, office_key):
    """A genuine but older package (a store migrated forward would not open) is refused."""
    old = tmp_path / "fieldcheck_0.1.0_amd64.deb"
    old.write_bytes(b"!<arch>\nold")
    sign_release(old, office_key)
    with pytest.raises(UpdateRefused, match="旧版本 0.1.0"):
        update.receive_update(old, tmp_path / "data", keys=[office_key.public_key()],
                              current="0.2.0")
    release, _copy = update.receive_update(old, tmp_path / "data2", keys=[office_key.public_key()],
                                           current="0.1.0")
    assert release.version == "0.1.0"  # the same version again: a repair install
