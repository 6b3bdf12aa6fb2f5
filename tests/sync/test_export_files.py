"""Large exports have their files copied into the bundle by a child process: the bundle must
be the one the thread writes, a damaged photo or a failed write must stop it the same way,
and the child must never write on once its export is given up or its parent is gone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sync import export as export_module
from sync import export_files, flushing
from sync.bundle_format import BundleError
from sync.export import export_bundle
from tests.sync.test_roundtrip import assert_round_trip
from tests.support.processes import (HAS_PROC, alive, children, kill_and_time_child,
                                     pretend_frozen)

REAL_CHILD_COMMAND = export_files._child_command


@pytest.fixture
def in_child(monkeypatch):
    """Every export, however small, has its files copied by the child — and only by it."""
    monkeypatch.setattr(export_module, "PROCESS_THRESHOLD", 0)
    runs = []
    real_run = export_files.Child.run

    def counted(self, *args, **kwargs):
        runs.append(self.process.pid)
        return real_run(self, *args, **kwargs)
    monkeypatch.setattr(export_files.Child, "run", counted)
    monkeypatch.setattr(export_module._BundleFile, "_copy", None)  # the thread's loop: not used
    return runs


def layout(path: Path) -> list[tuple]:
    """Every entry in file order: name, method, sizes, CRC, time, attributes, bytes (the
    manifest and its signature, which differ per bundle: name and method) — and the zip's
    own check of every entry."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return [(i.filename, i.compress_type) + (() if i.filename.startswith("manifest.") else (
                 i.file_size, i.compress_size, i.CRC, i.date_time, i.external_attr, i.flag_bits,
                 zf.read(i)))
                for i in sorted(zf.infolist(), key=lambda i: i.header_offset)]


def manifest(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("manifest.json"))


def test_child_writes_the_bundle_the_thread_writes(laptop_a, tmp_path, monkeypatch):
    """Same entries in the same order with the same headers, bytes and manifest entries; one
    central directory (zipfile's own check passes, nothing after it)."""
    for side in ("thread", "child"):
        (tmp_path / side).mkdir()
    # One moment for both: the entries' times are the export's (a second boundary between
    # the two made them differ now and then).
    moment = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
    laptop_a.clock = lambda: moment
    thread = export_bundle(laptop_a, tmp_path / "thread" / "a.fcb", everything=True,
                           encrypt=False)
    monkeypatch.setattr(export_module, "PROCESS_THRESHOLD", 0)
    child = export_bundle(laptop_a, tmp_path / "child" / "a.fcb", everything=True, encrypt=False)
    assert layout(child.path) == layout(thread.path)
    assert manifest(child.path)["entries"] == manifest(thread.path)["entries"]
    assert (child.files, child.counts) == (thread.files, thread.counts) and child.files >= 8


def test_records_deflated_beforehand_are_the_bytes_writestr_writes(tmp_path):
    """A records entry deflated beside the copy and written afterwards is byte for byte what
    zipfile's writestr writes — local header, stream, central directory — after stored
    entries and into a zip opened for appending alike."""
    from datetime import datetime
    when = datetime(2026, 11, 20, 8, 0)
    records = [("records/audit_event.json", os.urandom(3000).hex().encode() * 50),
               ("records/answer.json", b'{"table":"answer","rows":[]}'), ("records/x.json", b"")]
    made = {}
    for how in ("writestr", "beforehand", "appended"):
        path = tmp_path / f"{how}.zip"
        first = zipfile.ZipFile(path, "w")
        first.writestr(export_files.zip_info("files/photos/aa/a.jpg", when, zipfile.ZIP_STORED),
                       b"photo" * 1000)
        if how != "beforehand":  # the others go on in a zip opened again, as after the child
            first.close()
        with first if how == "beforehand" else zipfile.ZipFile(path, "a") as zf:
            for name, data in records:
                info = export_files.zip_info(name, when, zipfile.ZIP_DEFLATED)
                if how == "writestr":
                    zf.writestr(info, data, compresslevel=export_module.FAST_DEFLATE)
                else:
                    export_files.write_deflated(
                        zf, info, data, export_files.deflated(data, export_module.FAST_DEFLATE),
                        export_module.FAST_DEFLATE)
        made[how] = path.read_bytes()
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None and [zf.read(n) for n, _d in records] == [
                d for _n, d in records]
    assert made["beforehand"] == made["writestr"] == made["appended"]


def _copy_jobs(laptop) -> list[tuple]:
    return [(f"files/photos/{p.parent.name}/{p.name}", str(p), p.stem)
            for p in sorted(laptop.photos_dir.rglob("*.jpg"))]


def test_the_copy_flushes_the_zip_to_disk_as_it_goes(laptop_a, tmp_path, monkeypatch):
    """Every FLUSH_EVERY bytes the zip is flushed (fdatasync, on the flusher's thread) while
    the copy goes on, so the exporter's last fsync finds little left to write."""
    monkeypatch.setattr(flushing, "FLUSH_EVERY", 1)
    real_sync, synced = getattr(os, "fdatasync", os.fsync), []

    def counted(fd):
        synced.append(os.fstat(fd).st_size)
        return real_sync(fd)
    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", counted)
    jobs = _copy_jobs(laptop_a)
    target = tmp_path / "files.zip"
    target.touch()
    entries = export_files.write_zip(target, jobs, (2026, 11, 20, 8, 0, 0), flush=True)
    assert [e["name"] for e in entries] == [j[0] for j in jobs] and len(jobs) >= 8
    assert 1 <= len(synced) <= len(jobs) and synced == sorted(synced) and synced[0] > 0
    with zipfile.ZipFile(target) as zf:
        assert zf.testzip() is None
    synced.clear()
    export_files.write_zip(target, jobs, (2026, 11, 20, 8, 0, 0), flush=False)
    assert synced == []


def test_a_flush_that_fails_fails_the_copy(laptop_a, tmp_path, monkeypatch):
    """The stick refuses the data on a flush (EIO, a pulled stick): a write error, not a
    bundle that seems complete."""
    import errno
    monkeypatch.setattr(flushing, "FLUSH_EVERY", 1)

    def failing(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", failing)
    target = tmp_path / "files.zip"
    target.touch()
    with pytest.raises(export_files.FileProblem) as caught:
        export_files.write_zip(target, _copy_jobs(laptop_a), (2026, 11, 20, 8, 0, 0), flush=True)
    assert (caught.value.kind, caught.value.errno) == ("write", errno.EIO)


def test_round_trip_through_the_export_child(in_child, laptop_a, office, laptop_b, tmp_path):
    """A → office → B with every bundle's files copied by the child: identical records and
    photos, nothing in conflict; the laptop's export sealed for the office (its zip written
    by the child into the data folder's tmp, then encrypted onto the stick)."""
    from sync import crypto
    crypto.create_office_key(office.data_dir, tmp_path / "office.pub")
    crypto.install_office_public(laptop_a.data_dir, tmp_path / "office.pub")
    assert assert_round_trip(laptop_a, office, laptop_b, tmp_path).encrypted
    assert not list((laptop_a.data_dir / "tmp").glob("*.zip"))
    assert len(in_child) == 2


def test_a_damaged_photo_stops_the_export_in_the_child_too(in_child, laptop_a, tmp_path):
    """The photo named, nothing left on the stick, the folder not taken to hold anything."""
    stick = tmp_path / "stick"
    stick.mkdir()
    victim = sorted(laptop_a.photos_dir.rglob("*.jpg"))[-1]
    good = victim.read_bytes()
    victim.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(BundleError, match="照片文件已损坏") as caught:
        export_bundle(laptop_a, stick / "a.fcb")
    assert victim.stem[:12] in caught.value.text() and "重新添加" in caught.value.text()
    assert list(stick.iterdir()) == [] and in_child
    victim.write_bytes(good)
    assert export_bundle(laptop_a, stick / "a.fcb").counts["inspection"] == 6


def test_a_write_that_fails_in_the_child_leaves_no_file(in_child, laptop_a, tmp_path,
                                                        monkeypatch):
    """The stick refuses more bytes mid-copy (here: a file size limit on the child, EFBIG):
    one line naming the bundle, and neither the bundle nor a partial file is left."""
    def limited():
        command, env = REAL_CHILD_COMMAND()
        return [*command[:-1], "import resource, signal; signal.signal(signal.SIGXFSZ, "
                "signal.SIG_IGN); resource.setrlimit(resource.RLIMIT_FSIZE, (300000, 300000)); "
                + command[-1]], env
    monkeypatch.setattr(export_files, "_child_command", limited)
    stick = tmp_path / "stick"
    stick.mkdir()
    with pytest.raises(BundleError, match="无法写入导出文件") as caught:
        export_bundle(laptop_a, stick / "a.fcb")
    assert str(stick / "a.fcb") in caught.value.text()
    assert list(stick.iterdir()) == []


def test_a_child_that_dies_without_an_answer_leaves_no_file(in_child, laptop_a, tmp_path,
                                                             monkeypatch):
    monkeypatch.setattr(export_files, "_child_command",
                        lambda: ([sys.executable, "-c", "import os; os._exit(9)"], {}))
    stick = tmp_path / "stick"
    stick.mkdir()
    with pytest.raises(BundleError, match="导出未完成"):
        export_bundle(laptop_a, stick / "a.fcb")
    assert list(stick.iterdir()) == []


def test_no_interpreter_to_start_falls_back_to_the_thread(laptop_a, tmp_path, monkeypatch):
    """Where no child can be started (an embedded build) the export still works, on a thread."""
    monkeypatch.setattr(export_module, "PROCESS_THRESHOLD", 0)
    monkeypatch.setattr(export_files, "_child_command",
                        lambda: ([str(tmp_path / "no-such-python"), "-c", "pass"], {}))
    result = export_bundle(laptop_a, tmp_path / "a.fcb", encrypt=False)
    assert result.files >= 8 and layout(result.path)


def test_progress_reaches_the_total_through_the_child(in_child, laptop_a, tmp_path):
    seen = []
    export_bundle(laptop_a, tmp_path / "a.fcb", everything=True, encrypt=False,
                  progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


def test_frozen_build_starts_its_own_executable_as_the_child(in_child, laptop_a, tmp_path,
                                                              monkeypatch):
    """A frozen (PyInstaller) build has no interpreter for `-c`: its own executable — like
    /usr/bin/fieldcheck-cli, a program that runs main.py — must copy the files in a child."""
    marker = pretend_frozen(tmp_path, monkeypatch)
    result = export_bundle(laptop_a, tmp_path / "a.fcb", encrypt=False)
    assert marker.read_text().split() == [export_files.CHILD_ARGUMENT]
    assert result.files >= 8 and layout(result.path)


PARENT_SCRIPT = r"""
import sys
from datetime import datetime
from pathlib import Path
from sync import export_files, flushing
zip_path, photo = Path(sys.argv[1]), sys.argv[2]
zip_path.touch()
jobs = [(f"files/photos/aa/{n:064x}.jpg", photo, None) for n in range(400)]
export_files.Child().run(zip_path, jobs, datetime(2026, 11, 20, 8, 0))
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PROC, reason="reads /proc to find the child")
def test_export_child_never_outlives_its_parent(tmp_path):
    """The exporting process is SIGKILLed while its child copies 400 × 8 MB: the child stops
    within a second instead of writing on onto the stick."""
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(os.urandom(8 * 1024 * 1024))
    zip_path = tmp_path / "stick.partial"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, str(zip_path), str(photo)],
                              env=env, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (zip_path.exists() and zip_path.stat().st_size > 16 * 1024 * 1024) \
                and time.monotonic() < deadline:
            time.sleep(0.02)
        kids = children(parent.pid)
        assert len(kids) == 1 and zip_path.stat().st_size > 16 * 1024 * 1024
        gone_after = kill_and_time_child(parent, kids[0])
        assert not alive(kids[0]), "the export child outlived its parent"
        assert gone_after < 1.0
        written = zip_path.stat().st_size
        time.sleep(0.3)
        assert zip_path.stat().st_size == written < 400 * 8 * 1024 * 1024  # it stopped writing
        assert b"finished" not in parent.stdout.read()
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()


@pytest.mark.parametrize("side", ["thread", "child"])
@pytest.mark.parametrize("what", ["gone", "fifo"])
def test_a_missing_photo_file_stops_the_copy(side, what, laptop_a, tmp_path, monkeypatch):
    """Photos are not looked at before the copy starts: one gone, or a pipe in its place
    (never read: it would wait forever), is named when the copy reaches it, and nothing is
    left on the stick."""
    if side == "child":
        monkeypatch.setattr(export_module, "PROCESS_THRESHOLD", 0)
    stick = tmp_path / "stick"
    stick.mkdir()
    victim = sorted(laptop_a.photos_dir.rglob("*.jpg"))[3]
    victim.unlink()
    if what == "fifo":
        os.mkfifo(victim)
    with pytest.raises(BundleError, match="照片文件缺失") as caught:
        export_bundle(laptop_a, stick / "a.fcb", everything=True)
    assert victim.name in caught.value.text() and "重新添加" in caught.value.text()
    assert list(stick.iterdir()) == []


def test_a_sealed_bundle_is_flushed_to_the_stick_as_it_is_sealed(laptop_a, office, tmp_path,
                                                                   monkeypatch):
    """The encrypted copy on the stick is flushed while it is written; a flush the stick
    refuses (EIO: pulled out) fails the export and leaves nothing under any name."""
    import errno
    from sync import crypto
    crypto.create_office_key(office.data_dir, tmp_path / "office.pub")
    crypto.install_office_public(laptop_a.data_dir, tmp_path / "office.pub")
    monkeypatch.setattr(flushing, "FLUSH_EVERY", 1)
    name = "fdatasync" if hasattr(os, "fdatasync") else "fsync"
    real_sync, synced = getattr(os, name), []

    def counted(fd):
        synced.append(fd)
        return real_sync(fd)
    monkeypatch.setattr(os, name, counted)
    stick = tmp_path / "stick"
    stick.mkdir()
    assert export_bundle(laptop_a, stick / "a.fcb").encrypted and synced
    (stick / "a.fcb").unlink()

    def failing(fd):
        raise OSError(errno.EIO, "Input/output error")
    monkeypatch.setattr(os, name, failing)
    with pytest.raises(BundleError, match="无法写入导出文件"):
        export_bundle(laptop_a, stick / "a.fcb", everything=True)
    assert list(stick.iterdir()) == []


@pytest.mark.parametrize("side", ["thread", "child"])
@pytest.mark.parametrize("everything", [False, True])
def test_a_photo_this_laptop_cannot_read_is_told_as_this_laptops(side, everything, laptop_a,
                                                                 tmp_path, monkeypatch):
    """A photo in the data folder whose read fails (a real EIO: /proc/self/mem read at
    its start, put in the photo's place) is named with its case, as this computer's data —
    not as the stick failing (the user would swap sticks forever) — with the check to run;
    nothing is left on the stick, and the photo put back, the export goes through."""
    if side == "child":
        monkeypatch.setattr(export_module, "PROCESS_THRESHOLD", 0)
    stick = tmp_path / "stick"
    stick.mkdir()
    victim = sorted(laptop_a.photos_dir.rglob("*.jpg"))[2]
    good = victim.read_bytes()
    victim.unlink()
    victim.symlink_to("/proc/self/mem")
    with pytest.raises(BundleError) as caught:
        export_bundle(laptop_a, stick / "a.fcb", everything=everything)
    text = caught.value.text()
    with laptop_a.session() as s:
        from sqlalchemy import select
        from models.inspection import Inspection, Photo, case_label
        year, serial, name = s.execute(
            select(Inspection.case_year, Inspection.case_serial, Photo.original_name)
            .join(Photo, Photo.inspection_id == Inspection.id)
            .where(Photo.sha256 == victim.stem)).one()
    assert "\n" not in text and "无法写入导出文件" not in text and "请检查U盘" not in text, text
    assert "无法读取本电脑数据文件夹中的照片" in text and victim.name in text, text
    assert (case_label(year, serial) or "检查") in text and (name or "无原文件名") in text, text
    assert "fieldcheck status --files" in text, text
    assert list(stick.iterdir()) == []
    victim.unlink()
    victim.write_bytes(good)
    assert export_bundle(laptop_a, stick / "a.fcb", everything=True).counts["inspection"] == 6
