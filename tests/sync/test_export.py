"""Export: a complete, signed manifest; photos stored as they are; never a half file."""
from __future__ import annotations

import errno
import hashlib
import json
import zipfile

import pytest

from sync import export as export_module
from sync.bundle_format import BundleError
from sync.export import export_bundle


def test_manifest_lists_every_entry_with_hash_and_size(laptop_a, tmp_path):
    """The manifest names schema, device and time, and every entry's SHA-256 and size."""
    result = export_bundle(laptop_a, tmp_path / "a.fcb")
    with zipfile.ZipFile(result.path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = set(zf.namelist()) - {"manifest.json", "manifest.sig"}
        for entry in manifest["entries"]:
            data = zf.read(entry["name"])
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert {e["name"] for e in manifest["entries"]} == names
    assert manifest["device_id"] == laptop_a.device_id and manifest["bundle_version"] == 3
    assert manifest["db_schema"] and manifest["created_at"]


def test_photos_are_stored_without_recompression(laptop_a, tmp_path):
    """Each photo is a stored (not deflated) entry, byte for byte the file in the data folder."""
    result = export_bundle(laptop_a, tmp_path / "a.fcb")
    with zipfile.ZipFile(result.path) as zf:
        photos = [i for i in zf.infolist() if i.filename.startswith("files/photos/")]
        assert len(photos) == 8
        for info in photos:
            assert info.compress_type == zipfile.ZIP_STORED
            local = laptop_a.photos_dir / info.filename[len("files/photos/"):]
            assert zf.read(info) == local.read_bytes()


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     KeyboardInterrupt()], ids=["full_stick", "interrupted"])
def test_interrupted_export_leaves_no_file(failure, laptop_a, tmp_path, monkeypatch):
    """A full or pulled stick mid-export leaves neither the bundle nor a partial file."""
    stick = tmp_path / "stick"
    stick.mkdir()
    real_add, calls = export_module._BundleWriter.add, []

    def failing_add(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 5:
            raise failure
        return real_add(self, name, data, *args, **kwargs)

    monkeypatch.setattr(export_module._BundleWriter, "add", failing_add)
    with pytest.raises((BundleError, KeyboardInterrupt)) as caught:
        export_bundle(laptop_a, stick / "a.fcb")
    assert list(stick.iterdir()) == []
    if isinstance(failure, OSError):
        assert "空间已满" in caught.value.text()
    monkeypatch.undo()
    assert export_bundle(laptop_a, stick / "a.fcb").counts["inspection"] == 6


def test_missing_photo_file_stops_the_export(laptop_a, tmp_path):
    """A photo whose file is gone is named, and no bundle with missing media is written."""
    victim = next(p for p in laptop_a.photos_dir.rglob("*") if p.is_file())
    victim.unlink()
    with pytest.raises(BundleError, match="照片文件缺失"):
        export_bundle(laptop_a, tmp_path / "a.fcb")
    assert list(tmp_path.glob("*.fcb")) == [] and list(tmp_path.glob(".*partial")) == []


def test_a_folder_in_a_photos_place_is_named_as_missing(laptop_a, tmp_path):
    """A folder where a photo file should be (a restore gone wrong) is told as the photo
    missing, like a deleted one — not as the stick failing — and leaves no file open."""
    import os
    victim = next(p for p in laptop_a.photos_dir.rglob("*") if p.is_file())
    victim.unlink()
    victim.mkdir()
    open_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    with pytest.raises(BundleError, match="照片文件缺失"):
        export_bundle(laptop_a, tmp_path / "a.fcb")
    if open_before is not None:
        assert len(os.listdir("/proc/self/fd")) <= open_before
    assert list(tmp_path.glob("*.fcb")) == [] and list(tmp_path.glob(".*partial")) == []


def test_a_photo_damaged_on_disk_stops_the_export(laptop_a, tmp_path):
    """A photo file whose content is no longer what it was stored as (its name is its
    SHA-256) is named at the export, not signed into a bundle the office would refuse;
    nothing is written and the folder is not taken to hold anything."""
    stick = tmp_path / "stick"
    stick.mkdir()
    victim = sorted(laptop_a.photos_dir.rglob("*.jpg"))[0]
    good = victim.read_bytes()
    victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(BundleError, match="照片文件已损坏") as caught:
        export_bundle(laptop_a, stick / "a.fcb")
    assert victim.stem[:12] in caught.value.text() and "重新添加" in caught.value.text()
    assert "重新导入" in caught.value.text() and "status --files" in caught.value.text()
    assert list(stick.iterdir()) == []
    victim.write_bytes(good)  # the file put back: the whole store goes there, as before
    assert export_bundle(laptop_a, stick / "a.fcb").counts["inspection"] == 6


def test_everything_is_written_as_the_codec_encodes_the_rows(laptop_a, tmp_path):
    """An export of everything reads UUIDs and times as the database returns them and
    writes them as text; each records file is byte for byte what the column codec makes of
    the rows read the usual way — a time on a whole second too (isoformat leaves out its
    microseconds)."""
    _written_as_the_codec_encodes(laptop_a, tmp_path)


def test_the_office_writes_everything_as_the_codec_encodes_the_rows(office, tmp_path):
    """The same from the office (on PostgreSQL under --backend postgresql: the driver's own
    UUID and time objects)."""
    _written_as_the_codec_encodes(office, tmp_path)


def _written_as_the_codec_encodes(store, tmp_path):
    from datetime import datetime, timezone

    from models.tables import Base, Enterprise
    from sync.selection import select_rows
    whole = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    with store.transaction() as s:
        s.add(Enterprise(name="整秒企业", credit_code="91430000WHOLE00001", address="湘乡市",
                         created_at=whole, updated_at=whole))
    result = export_bundle(store, tmp_path / "all.fcb", everything=True, encrypt=False)
    with store.session() as s:
        rows = select_rows(s, Base.metadata)
    export_module._only_signed_chains(store, rows)  # the events any bundle of it carries
    expected = export_module._records_entries(rows)
    with zipfile.ZipFile(result.path) as zf:
        written = {n: zf.read(n) for n in zf.namelist() if n.startswith("records/")}
    assert written == expected
    assert b'"2026-03-04T05:06:07+00:00"' in written["records/enterprise.json"]


@pytest.mark.parametrize("everything", [False, True])
def test_a_missing_signature_image_is_said_not_silently_left_out(everything, laptop_a, tmp_path):
    """A handwritten-signature image gone from this disk does not stop the export (the
    issued PDF still holds the signature, and a frozen document cannot be signed again), but
    the export says so — the image is not carried, and nothing else would tell the user."""
    from sqlalchemy import select

    from documents.demo_signing import demo_signing_input
    from documents.service import issue_case_documents
    from models.documents import signature_image_path
    from models.tables import Inspection, Signature
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                              .order_by(Inspection.started_at)).first()
    issue_case_documents(laptop_a, finalized, demo_signing_input(laptop_a, finalized))
    with laptop_a.session() as s:
        images = sorted({sig.image_sha256 for sig in s.scalars(select(Signature)) if sig.image_sha256})
    signature_image_path(laptop_a.data_dir, images[0]).unlink()

    result = export_bundle(laptop_a, tmp_path / "a.fcb", everything=everything)

    with zipfile.ZipFile(tmp_path / "a.fcb") as zf:
        carried = {n for n in zf.namelist() if n.startswith("files/signatures/")}
    assert carried == {f"files/signatures/{sha}.png" for sha in images[1:]}
    said = [line for line in result.lines() if "签名图像" in line]
    assert len(said) == 1 and "1 个" in said[0] and "status --files" in said[0], result.lines()


def test_a_damaged_signature_image_on_a_laptop_is_refused_with_advice_that_works(
        laptop_a, office, tmp_path):
    """A laptop's signature image damaged on its disk stops its export; the advice must be
    one the laptop can follow: its own bundle is refused by itself (\"来源可疑…报告管理员\"),
    the office's 「全部记录」 export brings the checked copy back — and then it exports."""
    from models.photo_store import SIGNATURE_IMAGE_HINT
    from sync.merge import import_bundle
    from tests.sync.test_attack_files import _issued
    _doc, _doc_sha, sig_sha = _issued(laptop_a)
    (tmp_path / "a").mkdir()
    export_bundle(laptop_a, tmp_path / "a" / "a.fcb")
    import_bundle(office, tmp_path / "a" / "a.fcb")
    image = laptop_a.data_dir / "signatures" / f"{sig_sha}.png"
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0xFF
    image.write_bytes(bytes(data))
    (tmp_path / "again").mkdir()
    with pytest.raises(BundleError) as refused:
        export_bundle(laptop_a, tmp_path / "again" / "a.fcb", everything=True)
    for advice in (refused.value.text(), SIGNATURE_IMAGE_HINT):
        assert "办公室" in advice and "全部记录" in advice and "\n" not in advice, advice
    with pytest.raises(BundleError):   # what the advice must not send the user to
        import_bundle(laptop_a, tmp_path / "a" / "a.fcb")
    (tmp_path / "o").mkdir()
    export_bundle(office, tmp_path / "o" / "o.fcb", everything=True, encrypt=False)
    import_bundle(laptop_a, tmp_path / "o" / "o.fcb")
    assert hashlib.sha256(image.read_bytes()).hexdigest() == sig_sha
    export_bundle(laptop_a, tmp_path / "again" / "a.fcb", everything=True)
