"""Importing photos this store already holds: every byte still read and checked against the
signed manifest, but no staged copy written and the held file left as it is — while a file
missing or cut short here is brought back, and a file no committed record names is still
replaced by the import's own checked copy (the race guard of sync.merge._place_files)."""
from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from models.photo_store import PHOTO_EXTENSIONS, photo_path
from sync import crypto, staging
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import import_bundle
from tests.sync.conftest import dump
from tests.sync.test_hostile import (_header_size_lie, _manifest_size_too_small, _replace,
                                     read_entries)


def _photo_files(store) -> dict[Path, os.stat_result]:
    return {p: p.stat() for p in sorted(store.photos_dir.rglob("*")) if p.is_file()}


def _bundle_photos(path: Path) -> dict[str, int]:
    """sha256 → size of the photos a bundle carries."""
    with zipfile.ZipFile(path) as zf:
        return {Path(i.filename).stem: i.file_size for i in zf.infolist()
                if i.filename.startswith("files/photos/")}


def _written() -> int:
    """Bytes this process has handed to write() so far (the staging runs on a thread for a
    bundle this small): what a staged copy of every photo would show."""
    with open("/proc/self/io") as fh:
        return int(next(line for line in fh if line.startswith("wchar:")).split()[1])


def test_a_second_import_leaves_held_photos_alone_and_brings_back_a_removed_one(
        laptop_a, office, tmp_path):
    """The same bundle again: no photo of it staged or replaced but the two taken away here
    before (one removed, one cut short), which come back whole."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    carried = _bundle_photos(tmp_path / "a.fcb")
    assert len(carried) >= 3
    before = _written()
    import_bundle(office, tmp_path / "a.fcb")
    first_written = _written() - before
    assert first_written >= sum(carried.values())   # the first import stages every photo
    held = _photo_files(office)
    assert {p.stem for p in held} == set(carried)
    removed, cut = sorted(held)[:2]
    removed.unlink()
    cut.write_bytes(cut.read_bytes()[:100])          # a copy interrupted on this disk
    kept = {p: st for p, st in held.items() if p not in (removed, cut)}

    before = _written()
    report = import_bundle(office, tmp_path / "a.fcb")
    written = _written() - before

    assert report.changed_nothing
    assert hashlib.sha256(removed.read_bytes()).hexdigest() == removed.stem  # brought back
    assert hashlib.sha256(cut.read_bytes()).hexdigest() == cut.stem          # made whole
    after = _photo_files(office)
    for path, st in kept.items():   # not replaced, not rewritten
        assert (after[path].st_ino, after[path].st_mtime_ns) == (st.st_ino, st.st_mtime_ns), path
    # Only the two brought back were staged (plus the records' and state files' few bytes).
    again = carried[removed.stem] + carried[cut.stem]
    assert again <= written < again + (sum(carried.values()) - again) // 2, (written, again)


def test_a_file_no_committed_record_names_is_replaced_by_the_checked_copy(
        laptop_a, office, tmp_path):
    """A photo file already at its place that no record of this store names — placed a
    moment ago by an import side by side that may still fail, or left by one that died — is
    not taken as held: this import puts its own checked copy there (its rows must not name a
    file another import's take-away may remove)."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    with zipfile.ZipFile(tmp_path / "a.fcb") as zf:
        name = next(n for n in sorted(zf.namelist()) if n.startswith("files/photos/"))
        data = zf.read(name)
    sha, ext = Path(name).stem, Path(name).suffix
    target = office.photos_dir / sha[:2] / f"{sha}{ext}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    planted = target.stat().st_ino
    import_bundle(office, tmp_path / "a.fcb")
    assert target.stat().st_ino != planted
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha


@pytest.mark.parametrize("build,reason", [
    (_replace("files/photos/", lambda d: d[:-1] + b"\0", resign=False), "校验值不符"),
    (_replace("files/photos/", lambda d: d[:-1] + b"\0"), "与文件名不符"),
    (_manifest_size_too_small, "大小"),
    (_header_size_lie, "已损坏"),
], ids=["wrong_hash", "photo_not_its_name", "size_larger_than_declared", "zip_header_size_lie"])
@pytest.mark.parametrize("side", ["thread", "child"])
def test_photos_held_here_are_still_checked_against_the_manifest(build, reason, side, laptop_a,
                                                                  office, tmp_path, monkeypatch):
    """The office holds every photo of the bundle; a copy of it with one photo's bytes
    changed is refused all the same, the store as it was (staging on a thread or, as for
    large bundles, in the child process)."""
    if side == "child":
        monkeypatch.setattr(staging, "PROCESS_THRESHOLD", 0)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    hostile = tmp_path / "hostile.fcb"
    build(read_entries(tmp_path / "a.fcb"), crypto.device_signing_key(laptop_a.data_dir), hostile)
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, hostile)
    assert reason in caught.value.text()
    assert dump(office) == before


def test_a_held_photo_removed_during_the_import_stops_it_and_the_next_brings_it_back(
        laptop_a, office, tmp_path, monkeypatch):
    """Found held before the files were read, gone by the time they are placed (removed by
    hand meanwhile): this import has no copy of it to place, so it changes nothing and says
    to import again — which stages it and brings it back."""
    import sync.merge as merge
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    victim = sorted(_photo_files(office))[0]
    real = merge.check_files

    def remove_meanwhile(*args, **kwargs):
        victim.unlink(missing_ok=True)
        return real(*args, **kwargs)
    monkeypatch.setattr(merge, "check_files", remove_meanwhile)
    before = dump(office)
    with pytest.raises(BundleError, match="被移走") as caught:
        import_bundle(office, tmp_path / "a.fcb")
    assert "再导入一次" in caught.value.text()
    assert dump(office) == {**before, "files": [f for f in before["files"]
                                                if not f[0].endswith(victim.name)]}
    monkeypatch.setattr(merge, "check_files", real)
    import_bundle(office, tmp_path / "a.fcb")
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == victim.stem


def _same_bytes_under_another_extension(laptop, tmp_path) -> tuple[str, str, str, bytes]:
    """On the laptop, a second photo record of an open inspection naming the bytes of a photo
    it holds under another extension (what a tampered FieldCheck may sign: the import checks
    a photo record's hash and extension, not the format of its bytes); exported. The sha256,
    the extension held before, the new one, and the bytes."""
    from models.inspection import Inspection, InspectionStatus, Photo
    with laptop.transaction() as s:
        old = s.scalars(select(Photo).order_by(Photo.sha256)).first()
        draft = s.scalars(select(Inspection.id)
                          .where(Inspection.status != InspectionStatus.FINALIZED)).first()
        assert draft is not None
        other = next(e for e in sorted(PHOTO_EXTENSIONS) if e != old.file_ext)
        data = photo_path(laptop.photos_dir, old.sha256, old.file_ext).read_bytes()
        target = photo_path(laptop.photos_dir, old.sha256, other)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        s.add(Photo(inspection_id=draft, sha256=old.sha256, file_ext=other, byte_size=len(data),
                    width=old.width, height=old.height, original_name="同一张照片.x"))
        return old.sha256, old.file_ext, other, data


def test_a_photo_held_under_another_extension_does_not_make_a_stranger_file_held(
        laptop_a, office, tmp_path):
    """Held means: a committed record names this file — its hash AND its extension. The
    office holds X.jpg; a bundle brings a record of X under another extension, and a file of
    the signed size but other bytes lies at that place (no record names it: planted, or
    damaged). The import must put its checked copy there, as for any file no record names —
    not keep the stranger bytes and commit a record that names them. (Failed before: the
    hash alone made X.<other> held, its wrong bytes kept and named.)"""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    sha, _held_ext, other, data = _same_bytes_under_another_extension(laptop_a, tmp_path)
    export_bundle(laptop_a, tmp_path / "b.fcb")
    assert f"files/photos/{sha[:2]}/{sha}.{other}" in _bundle_photos_names(tmp_path / "b.fcb")
    stranger = photo_path(office.photos_dir, sha, other)
    stranger.write_bytes(bytes(len(data)))             # the signed size, other bytes
    import_bundle(office, tmp_path / "b.fcb")
    assert hashlib.sha256(stranger.read_bytes()).hexdigest() == sha


def _bundle_photos_names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {n for n in zf.namelist() if n.startswith("files/photos/")}


def test_a_failed_import_does_not_take_away_a_photo_another_import_relied_on(
        laptop_a, office, tmp_path, monkeypatch):
    """A photo a committed record names is missing here (damaged); import 1 brings it back,
    then fails after placing it. Meanwhile import 2 of a bundle carrying it finds the file
    at its place, named by the committed record: held, not staged — and commits. On the
    server this is the order the import lock gives: the failed import's take-away waits for
    the imports under way to commit. Its take-away must not then remove the file — the
    committed records name it, and import 2 said it holds every photo. (Failed before: the
    file was taken away, the store left without it after import 2 succeeded.)"""
    import sync.merge as merge
    from models.errors import StoreError
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    victim = sorted(_photo_files(office))[0]
    victim.unlink()
    real_lock, real_take_away, calls = merge.lock_for_device, merge._take_away, []

    def fail_first(session, device):   # import 1's last step, after its files are placed
        calls.append(device)
        if len(calls) == 1:
            raise StoreError("写入失败（测试）")
        return real_lock(session, device)

    def second_import_meanwhile(store, placed):
        assert any(p == victim for p, _ino in placed)   # import 1 brought it back
        second = import_bundle(office, tmp_path / "a.fcb")
        assert second.changed_nothing
        return real_take_away(store, placed)
    monkeypatch.setattr(merge, "lock_for_device", fail_first)
    monkeypatch.setattr(merge, "_take_away", second_import_meanwhile)
    with pytest.raises(StoreError):
        import_bundle(office, tmp_path / "a.fcb")
    assert victim.is_file(), "the photo the committed records name was taken away"
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == victim.stem


def test_a_held_photo_damaged_here_at_its_size_is_repaired_by_the_next_import(
        laptop_a, office, tmp_path):
    """A held photo whose bytes changed on this disk, its size the same (bit rot, a bad
    copy): the next import of a bundle carrying it puts the checked copy back — the local
    file is hashed too, not only measured — while the intact held ones stay untouched."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    held = _photo_files(office)
    damaged = sorted(held)[0]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    intact = {p: st for p, st in held.items() if p != damaged}

    report = import_bundle(office, tmp_path / "a.fcb")

    assert report.changed_nothing
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == damaged.stem   # repaired
    after = _photo_files(office)
    for path, st in intact.items():
        assert (after[path].st_ino, after[path].st_mtime_ns) == (st.st_ino, st.st_mtime_ns), path


def test_a_signature_image_damaged_or_missing_here_is_repaired_by_the_next_import(
        laptop_a, office, tmp_path):
    """A handwritten-signature image is content-addressed like a photo: damaged on this disk
    (its name is its bytes' hash), the next import of a bundle carrying it puts the checked
    copy in its place; one gone comes back — what `status --files` tells the user to do."""
    from documents.demo_signing import demo_signing_input
    from documents.service import issue_case_documents
    from models.documents import signature_image_path
    from models.tables import Inspection, Signature
    with laptop_a.session() as s:
        finalized = s.scalars(select(Inspection.id).where(Inspection.status == "finalized")
                              .order_by(Inspection.started_at)).first()
    issue_case_documents(laptop_a, finalized, demo_signing_input(laptop_a, finalized))
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    with office.session() as s:
        images = sorted({sig.image_sha256 for sig in s.scalars(select(Signature))
                         if sig.image_sha256})
    assert len(images) >= 2
    damaged = signature_image_path(office.data_dir, images[0])
    gone = signature_image_path(office.data_dir, images[1])
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    gone.unlink()

    report = import_bundle(office, tmp_path / "a.fcb")

    assert report.changed_nothing
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == images[0]   # repaired
    assert hashlib.sha256(gone.read_bytes()).hexdigest() == images[1]      # brought back
