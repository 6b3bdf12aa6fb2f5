"""`backup --out DIR` and `restore DIR` on both backends: a restore into an empty folder (and,
at the office, an empty database) gives the same `status`; bad targets change nothing."""
from __future__ import annotations

import json

import pytest

import main
from models.demo import build_demo
from tests.sync.conftest import DEMO_NOW


def run(capsys, *argv):
    code = main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def status(capsys, folder) -> dict:
    code, out, err = run(capsys, "status", "--json", "--data-dir", folder)
    assert code == 0, err
    summary = json.loads(out)
    summary.pop("data_dir")
    return summary


@pytest.fixture
def demo_store(store):
    build_demo(store, now=DEMO_NOW)
    return store


def _target(store_maker, backend):
    return ["--database-url", store_maker.empty_database()] if backend == "postgresql" else []


def test_restore_into_an_empty_place_gives_the_same_status(capsys, demo_store, tmp_path, store_maker,
                                                           backend):
    before = status(capsys, demo_store.data_dir)
    code, out, err = run(capsys, "backup", "--out", tmp_path / "b", "--data-dir", demo_store.data_dir)
    assert code == 0, err
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text("utf-8"))
    assert manifest["backend"] == backend
    assert any(f["path"].startswith("photos/") for f in manifest["files"])
    code, out, err = run(capsys, "restore", tmp_path / "b", "--data-dir", tmp_path / "restored",
                         *_target(store_maker, backend))
    assert code == 0, err
    after = status(capsys, tmp_path / "restored")
    assert after == before and after["photos"] > 0 and after["audit_chain"]["intact"]
    photos = sorted(p.name for p in (tmp_path / "restored" / "photos").rglob("*") if p.is_file())
    assert photos == sorted(p.name for p in (demo_store.data_dir / "photos").rglob("*") if p.is_file())


def test_restore_refuses_a_folder_with_data_and_a_damaged_backup(capsys, store, tmp_path, store_maker,
                                                                 backend):
    assert run(capsys, "backup", "--out", tmp_path / "b", "--data-dir", store.data_dir)[0] == 0
    code, _out, err = run(capsys, "backup", "--out", tmp_path / "b", "--data-dir", store.data_dir)
    assert code == 2 and "不是空的" in err
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "note.txt").write_text("现有数据", "utf-8")
    code, _out, err = run(capsys, "restore", tmp_path / "b", "--data-dir", occupied,
                          *_target(store_maker, backend))
    assert code == 2 and "不是空的" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in occupied.iterdir()) == ["note.txt"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text("utf-8"))
    damaged = tmp_path / "b" / manifest["database"]["file"]
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    code, _out, err = run(capsys, "restore", tmp_path / "b", "--data-dir", tmp_path / "fresh",
                          *_target(store_maker, backend))
    assert code == 2 and "已被改动" in err
    assert not any((tmp_path / "fresh").iterdir())


@pytest.mark.postgresql_only
def test_office_restore_refuses_a_database_that_is_not_empty(capsys, store, tmp_path):
    assert run(capsys, "backup", "--out", tmp_path / "b", "--data-dir", store.data_dir)[0] == 0
    url = json.loads((store.data_dir / "database.json").read_text("utf-8"))["url"]
    code, _out, err = run(capsys, "restore", tmp_path / "b", "--data-dir", tmp_path / "r",
                          "--database-url", url)
    assert code == 2 and "不是空的" in err
    code, _out, err = run(capsys, "restore", tmp_path / "b", "--data-dir", tmp_path / "r2")
    assert code == 2 and "--database-url" in err
