"""Bundles sealed for the office: unreadable on the stick, refused when cut or changed."""
from __future__ import annotations

import pytest

from sync import crypto
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from sync.verify_command import verify_bundle_file
from tests.sync.conftest import dump


@pytest.fixture
def sealed(laptop_a, office, tmp_path):
    public = tmp_path / "office.pub"
    crypto.create_office_key(office.data_dir, public)
    crypto.install_office_public(laptop_a.data_dir, public)
    result = export_bundle(laptop_a, tmp_path / "sealed.fcb")
    assert result.encrypted
    return result.path


def test_sealed_bundle_leaks_nothing_and_imports_at_the_office(sealed, office):
    """The file shows no names or text; the office (holding the key) imports it."""
    data = sealed.read_bytes()
    assert data.startswith(crypto.MAGIC)
    assert b"manifest" not in data and "湘乡".encode() not in data
    report = import_bundle(office, sealed)
    assert report.total("new") > 0 and report.total("conflict") == 0


def test_sealed_bundle_is_refused_without_the_office_key(sealed, laptop_b):
    """A laptop without the office's private key can neither verify nor import it."""
    before = dump(laptop_b)
    assert "已加密" in verify_bundle_file(sealed, laptop_b).problem
    with pytest.raises(BundleError, match="已加密"):
        import_bundle(laptop_b, sealed)
    assert dump(laptop_b) == before


@pytest.mark.parametrize("damage", ["truncate", "flip", "extend"])
def test_damaged_sealed_bundle_is_refused(damage, sealed, office):
    """A cut, altered or extended sealed file is refused and the store unchanged."""
    data = bytearray(sealed.read_bytes())
    if damage == "truncate":
        data = data[: len(data) - 100]
    elif damage == "flip":
        data[len(data) // 2] ^= 1
    else:
        data += b"\0" * 20
    sealed.write_bytes(bytes(data))
    before = dump(office)
    with pytest.raises(BundleError):
        import_bundle(office, sealed)
    assert dump(office) == before


def test_plain_export_overrides_the_office_key(laptop_a, office, tmp_path):
    """`encrypt=False` writes a plain bundle even with the office key installed."""
    crypto.create_office_key(office.data_dir, tmp_path / "office.pub")
    crypto.install_office_public(laptop_a.data_dir, tmp_path / "office.pub")
    result = export_bundle(laptop_a, tmp_path / "plain.fcb", encrypt=False)
    assert not result.encrypted and not crypto.is_encrypted(result.path)
