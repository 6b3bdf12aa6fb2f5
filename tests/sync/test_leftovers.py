"""What an import or export the laptop died in leaves behind is cleared the next time —
only our own leftovers, and only once no running FieldCheck can still be using them."""
from __future__ import annotations

import os
import time
import uuid

from sync.bundle_format import STALE_AFTER_SECONDS
from sync.export import export_bundle
from sync.merge import import_bundle


def _age(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_next_import_clears_a_dead_imports_staging(laptop_a, office, tmp_path):
    tmp = office.data_dir / "tmp"
    dead = tmp / f"import-{uuid.uuid4().hex}"
    dead.mkdir(parents=True)
    (dead / "000001").write_bytes(b"x" * 1000)
    _age(dead, STALE_AFTER_SECONDS + 60)
    running = tmp / f"import-{uuid.uuid4().hex}"  # another import, still going
    running.mkdir()
    mine = tmp / "notes.txt"  # not ours by name: never touched
    mine.write_text("keep")
    _age(mine, STALE_AFTER_SECONDS * 10)
    export_bundle(laptop_a, tmp_path / "a.fcb")
    import_bundle(office, tmp_path / "a.fcb")
    assert not dead.exists() and running.exists() and mine.read_text() == "keep"


def test_next_export_clears_a_partial_file_left_on_the_stick(laptop_a, tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    partial = stick / f".a.fcb.{uuid.uuid4().hex}.partial"
    partial.write_bytes(b"half a bundle")
    _age(partial, STALE_AFTER_SECONDS + 60)
    fresh = stick / f".b.fcb.{uuid.uuid4().hex}.partial"  # another laptop writing right now
    fresh.write_bytes(b"busy")
    other = stick / "报告.partial"
    other.write_bytes(b"someone else's")
    _age(other, STALE_AFTER_SECONDS * 10)
    export_bundle(laptop_a, stick / "a.fcb")
    assert not partial.exists() and fresh.exists() and other.exists()
    assert (stick / "a.fcb").is_file()
