"""Large bundles have their files read, hashed and staged in a child process: it must refuse
exactly what the thread refuses, stage the same bytes, report progress and stop when told."""
from __future__ import annotations

import hashlib
import threading
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from models.base import UTCDateTime
from models.tables import Inspection
from sync import crypto, flushing, staging
from sync.bundle_format import BundleError
from sync.export import export_bundle
from sync.merge import _convert_column, _converter, _utc_text, import_bundle
from tests.sync.conftest import dump
from tests.sync.test_hostile import CASES, read_entries
from tests.sync.test_roundtrip import assert_round_trip
from tests.support.processes import (HAS_PROC, alive, children, kill_and_time_child,
                                     pretend_frozen)

REAL_CHILD_COMMAND = staging._child_command
FILE_CASES = {"size_larger_than_declared", "zip_header_size_lie", "truncated", "wrong_hash",
              "missing_photo_file"}


@pytest.fixture
def in_child(monkeypatch):
    """Every staging, however small, goes through the child process."""
    monkeypatch.setattr(staging, "PROCESS_THRESHOLD", 0)


@pytest.fixture
def bundle(laptop_a, tmp_path) -> Path:
    path = tmp_path / "stick" / "a.fcb"
    path.parent.mkdir()
    export_bundle(laptop_a, path)
    return path


def photo_jobs(path: Path) -> list[tuple[str, int]]:
    with zipfile.ZipFile(path) as zf:
        return [(i.filename, i.file_size) for i in zf.infolist() if i.filename.startswith("files/")]


def test_child_stages_the_same_bytes_as_the_thread(bundle, tmp_path):
    """Sizes, hashes and staged copies are the same whichever side does the work."""
    jobs = photo_jobs(bundle)
    results = {}
    for mode, threshold in (("thread", 10**12), ("child", 0)):
        stage = tmp_path / mode
        stage.mkdir()
        results[mode] = staging.run_staging(bundle, jobs, stage, threshold=threshold)
    with zipfile.ZipFile(bundle) as zf:
        for name, _size in jobs:
            data = zf.read(name)
            for mode in ("thread", "child"):
                staged = results[mode][name]
                assert (staged.size, staged.sha256) == (len(data), hashlib.sha256(data).hexdigest())
                assert staged.path.read_bytes() == data
    assert len(jobs) >= 8


def test_files_held_already_are_hashed_but_not_staged_on_either_side(bundle, tmp_path):
    """hash_only (photos the store holds, with their files here): read and hashed like the
    rest, no copy written into the stage — unless the file here is not those bytes (one
    damaged at its size, one gone), which is staged after all; in the child as on the thread."""
    jobs = photo_jobs(bundle)
    here = tmp_path / "held"
    here.mkdir()
    held = {}
    with zipfile.ZipFile(bundle) as zf:
        for n, (name, _size) in enumerate(jobs[::2]):
            held[name] = str(here / f"{n}")
            Path(held[name]).write_bytes(zf.read(name))
    damaged, gone = jobs[0][0], jobs[2][0]
    data = bytearray(Path(held[damaged]).read_bytes())
    data[0] ^= 0xFF
    Path(held[damaged]).write_bytes(bytes(data))
    Path(held[gone]).unlink()
    for mode, threshold in (("thread", 10**12), ("child", 0)):
        stage = tmp_path / mode
        stage.mkdir()
        result = staging.run_staging(bundle, jobs, stage, threshold=threshold, hash_only=held)
        with zipfile.ZipFile(bundle) as zf:
            for name, _size in jobs:
                data = zf.read(name)
                staged = result[name]
                assert (staged.size, staged.sha256) == (len(data), hashlib.sha256(data).hexdigest())
                assert (staged.path is None) == (name in held and name not in (damaged, gone)), (
                    mode, name)
                if staged.path is not None:
                    assert staged.path.read_bytes() == data
        assert sorted(p.name for p in stage.iterdir()) == sorted(
            str(result[name].path.name) for name, _size in jobs if result[name].path), mode


def test_staging_flushes_to_disk_as_it_goes(bundle, tmp_path, monkeypatch):
    """Every FLUSH_EVERY bytes staged the disk is flushed on a thread of the staging, while
    the next files are read; the last flush, which the import waits for, comes after all."""
    monkeypatch.setattr(flushing, "FLUSH_EVERY", 1)
    real_sync, real_stage_one, synced = staging.os.sync, staging._stage_one, []
    flushed_meanwhile = threading.Event()

    def counted():
        synced.append((threading.current_thread().name, len(list(stage.iterdir()))))
        if threading.current_thread().name == "stage-flush":
            flushed_meanwhile.set()
        real_sync()

    def second_file_waits(*args, **kwargs):  # the next file comes once a flush has run
        if list(stage.iterdir()):
            flushed_meanwhile.wait(10)
        return real_stage_one(*args, **kwargs)
    monkeypatch.setattr(staging.os, "sync", counted)
    monkeypatch.setattr(staging, "_stage_one", second_file_waits)
    jobs = photo_jobs(bundle)
    stage = tmp_path / "stage"
    stage.mkdir()
    staging.stage_entries(bundle, jobs, stage)
    on_thread = [n for name, n in synced if name == "stage-flush"]
    assert on_thread and on_thread[0] < len(jobs)  # one before the staging ended
    assert synced[-1] == (threading.current_thread().name, len(jobs))


def test_child_reports_progress_up_to_the_total(bundle, tmp_path):
    seen = []
    jobs = photo_jobs(bundle)
    staging.run_staging(bundle, jobs, None, lambda done, total: seen.append((done, total)),
                        threshold=0)
    total = sum(size for _n, size in jobs)
    assert seen and seen[-1] == (total, total)
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


@pytest.mark.parametrize("build,reason", [c[1:] for c in CASES if c[0] in FILE_CASES],
                         ids=[c[0] for c in CASES if c[0] in FILE_CASES])
def test_child_refuses_broken_files_like_the_thread(build, reason, in_child, bundle, laptop_a,
                                                    office, tmp_path):
    """A lying size, a cut-off zip, a wrong hash: the same reason, the store unchanged."""
    hostile = tmp_path / "hostile.fcb"
    build(read_entries(bundle), crypto.device_signing_key(laptop_a.data_dir), hostile)
    before = dump(office)
    with pytest.raises(BundleError) as caught:
        import_bundle(office, hostile)
    assert reason in caught.value.text()
    assert dump(office) == before
    assert not list((office.data_dir / "tmp").glob("import-*"))


def test_round_trip_through_the_child(in_child, laptop_a, office, laptop_b, tmp_path):
    """A → office → B with every file staged by the child: identical records and photos."""
    assert_round_trip(laptop_a, office, laptop_b, tmp_path)


def test_unwritable_staging_folder_says_so(in_child, bundle, tmp_path):
    """A staging folder that cannot take the files is the laptop's problem, not the bundle's."""
    with pytest.raises(staging.StagingError) as caught:
        staging.run_staging(bundle, photo_jobs(bundle), tmp_path / "no-such-folder")
    assert caught.value.kind == "write"


def test_cancel_stops_the_child(bundle, tmp_path, monkeypatch):
    """Cancelling (the merge failed meanwhile) kills the child: no file is written after."""
    monkeypatch.setattr(staging, "_child_command", _slow_child_command)
    cancel = staging.Cancel()
    stage = tmp_path / "stage"
    stage.mkdir()
    outcome = {}

    def run():
        try:
            staging.run_staging(bundle, photo_jobs(bundle), stage, cancel=cancel, threshold=0)
        except staging.StagingError as exc:
            outcome["kind"] = exc.kind
    worker = threading.Thread(target=run)
    worker.start()
    cancel.set()
    worker.join(timeout=10)
    assert not worker.is_alive() and outcome == {"kind": "cancelled"}
    written = sorted(stage.iterdir())
    assert len(written) < len(photo_jobs(bundle))


def _slow_child_command():
    """The real child, sleeping before its work so that the cancel surely comes first."""
    command, env = REAL_CHILD_COMMAND()
    return [*command[:-1], "import time; time.sleep(5); " + command[-1]], env


def test_no_interpreter_to_start_falls_back_to_the_thread(bundle, tmp_path, monkeypatch):
    """Where no child can be started the files are still staged, on a thread."""
    monkeypatch.setattr(staging, "_child_command",
                        lambda: ([str(tmp_path / "no-such-python"), "-c", "pass"], {}))
    jobs = photo_jobs(bundle)
    result = staging.run_staging(bundle, jobs, tmp_path, threshold=0)
    assert sorted(result) == sorted(name for name, _size in jobs)
    assert all(staged.path.is_file() for staged in result.values())


def test_fast_time_conversion_writes_what_sqlalchemy_writes(office):
    """The import's own conversion of UTC times gives SQLAlchemy's stored text exactly, and
    refuses a time without a zone as the column type does."""
    dialect = office.engine.dialect
    generic = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    china = timezone(timedelta(hours=8))
    values = (datetime(2026, 11, 22, 23, 59, 59, 999999, tzinfo=china),
              datetime(2026, 1, 1, tzinfo=timezone.utc),
              datetime(5, 6, 7, 8, 9, 10, 11, tzinfo=timezone.utc))
    converter = _converter(Inspection.__table__.c.started_at, dialect)
    if dialect.name == "sqlite":
        for value in values:
            assert _utc_text(value) == generic(value)
        assert converter is _utc_text
    else:  # psycopg takes datetime objects: SQLAlchemy's own conversion, not the text
        assert converter is not _utc_text
        assert [converter(v) for v in values] == [generic(v) for v in values]
    with pytest.raises(ValueError):
        _utc_text(datetime(2026, 1, 1))


def test_column_conversion_writes_what_the_bind_processor_writes(office):
    """The import converts whole columns at once (C-level map for UTC times and UUIDs): the
    very values SQLAlchemy's own bind processor gives, value by value — times in other zones,
    naive ones refused, gaps (None) kept in place."""
    dialect = office.engine.dialect
    china = timezone(timedelta(hours=8))
    columns = Inspection.__table__.c
    times = [datetime(2026, 11, 22, 8, 30, 5, 123456, tzinfo=timezone.utc), None,
             datetime(2026, 1, 1, tzinfo=timezone.utc),
             datetime(5, 6, 7, 8, 9, 10, 11, tzinfo=china)]
    ids = [uuid.uuid4(), None, uuid.uuid4()]
    utc_only = [times[0], times[2], datetime(5, 6, 7, 8, 9, 10, 11, tzinfo=timezone.utc)]
    for column, values in ((columns.started_at, times), (columns.ended_at, times[:1] * 3),
                           (columns.ended_at, utc_only),  # (the fast path: no micro, year 5)
                           (columns.id, ids), (columns.enterprise_id, ids[:1] * 2)):
        generic = column.type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        assert _convert_column(column, dialect, list(values)) == [
            None if v is None else generic(v) for v in values]
    with pytest.raises(ValueError):
        _convert_column(columns.started_at, dialect, [times[0], datetime(2026, 1, 1)])


PARENT_SCRIPT = r"""
import sys
from pathlib import Path
from sync import staging
zip_path, stage = Path(sys.argv[1]), Path(sys.argv[2])
def progress(done, total):
    print("progress", done, flush=True)
staging.run_staging(zip_path, [("files/big", int(sys.argv[3]))], stage, progress, threshold=0)
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAS_PROC, reason="reads /proc to find the child")
def test_staging_child_never_outlives_its_parent(tmp_path):
    """The parent is SIGKILLed while its child stages a large entry: the child stops within
    a second instead of reading and writing on into the staging folder."""
    import os
    import subprocess
    import sys
    import time
    size = 1536 * 1024 * 1024  # zeros: ~1.5 MB on disk, seconds of inflating and hashing
    zip_path = tmp_path / "big.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("files/big", "w", force_zip64=True) as fh:
            block = b"\0" * (16 * 1024 * 1024)
            for _ in range(size // len(block)):
                fh.write(block)
    stage = tmp_path / "stage"
    stage.mkdir()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, str(zip_path), str(stage),
                               str(size)], env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not (stage / "000000").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        kids = children(parent.pid)
        assert len(kids) == 1 and (stage / "000000").exists()
        gone_after = kill_and_time_child(parent, kids[0])
        assert not alive(kids[0]), "the staging child outlived its parent"
        assert gone_after < 1.0
        written = (stage / "000000").stat().st_size
        time.sleep(0.3)
        assert (stage / "000000").stat().st_size == written < size  # it stopped writing
    finally:
        parent.kill()
        parent.wait()


def test_frozen_build_starts_its_own_executable_as_the_child(bundle, tmp_path, monkeypatch):
    """A frozen (PyInstaller) build has no interpreter for `-c`: its own executable — like
    /usr/bin/fieldcheck-cli, a program that runs main.py — must do the staging in a child."""
    marker = pretend_frozen(tmp_path, monkeypatch)
    jobs = photo_jobs(bundle)
    stage = tmp_path / "stage"
    stage.mkdir()
    result = staging.run_staging(bundle, jobs, stage, threshold=0)
    assert marker.read_text().split() == [staging.CHILD_ARGUMENT]
    with zipfile.ZipFile(bundle) as zf:
        for name, _size in jobs:
            assert result[name].path.read_bytes() == zf.read(name)
