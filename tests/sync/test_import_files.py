"""The files an import places: a failed one takes away only its own copies."""
from __future__ import annotations

import hashlib
from pathlib import Path

from sync.export import export_bundle
from sync.merge import _place_files, _take_away, _target_of
from sync.verify import read_bundle


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def test_a_failing_import_leaves_the_files_another_import_placed_meanwhile(laptop_a, office, tmp_path):
    """Two imports side by side bring the same photos; the first places them, the second
    finds them there, then the first fails and takes its files away: the second's rows would
    name photos that are gone (was: the second skipped files already present, and the first
    removed them by path). Runs on both backends: the file side is the same."""
    export_bundle(laptop_a, tmp_path / "a.fcb")
    first = read_bundle(tmp_path / "a.fcb", stage_dir=_folder(tmp_path / "stage-1"))
    second = read_bundle(tmp_path / "a.fcb", stage_dir=_folder(tmp_path / "stage-2"))
    assert first.staged and set(first.staged) == set(second.staged)
    placed_first, placed_second = [], []
    _place_files(office, first, placed_first)
    _place_files(office, second, placed_second)
    assert placed_first and not placed_second       # the second placed nothing new …
    _take_away(office, placed_first)                # … and the first failed
    targets = [_target_of(office, name) for name in second.staged]
    assert all(t.is_file() for t in targets), [t for t in targets if not t.is_file()]
    for name in second.staged:
        if name.startswith("files/photos/"):
            assert hashlib.sha256(_target_of(office, name).read_bytes()).hexdigest() == \
                Path(name).stem


def test_a_failing_import_alone_leaves_the_folder_as_it_was(laptop_a, office, tmp_path):
    export_bundle(laptop_a, tmp_path / "a.fcb")
    before = sorted(p.relative_to(office.data_dir) for p in office.data_dir.rglob("*") if p.is_file())
    bundle = read_bundle(tmp_path / "a.fcb", stage_dir=_folder(tmp_path / "stage"))
    placed = []
    _place_files(office, bundle, placed)
    assert placed
    _take_away(office, placed)
    assert sorted(p.relative_to(office.data_dir) for p in office.data_dir.rglob("*") if p.is_file()) == before
