"""Files someone puts on the USB stick between a laptop and the office: no key of any
enrolled laptop is needed to write them, so every one must end in ONE Chinese line, exit 2,
the store unchanged — never a traceback."""
from __future__ import annotations

from main import main
from tests.sync.conftest import dump, refused
from tests.sync.test_hostile import write_zip


def _nested_manifest(path, depth=100_000) -> None:
    """A 'bundle' whose manifest is a deeply nested JSON array (a few hundred bytes zipped)."""
    write_zip(path, [("manifest.json", b"[" * depth + b"]" * depth), ("manifest.sig", b"x")])


def test_a_deeply_nested_manifest_is_refused_in_one_line(office, tmp_path):
    _nested_manifest(tmp_path / "nested.fcb")
    refused(office, tmp_path / "nested.fcb")


def test_cli_import_of_a_deeply_nested_manifest_exits_2(laptop_a, tmp_path, capsys):
    _nested_manifest(tmp_path / "nested.fcb")
    before = dump(laptop_a)
    code = main(["import", str(tmp_path / "nested.fcb"), "--data-dir", str(laptop_a.data_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("错误：")
    assert dump(laptop_a) == before
