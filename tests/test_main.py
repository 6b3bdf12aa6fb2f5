"""The headless command line: the contract other tools and checks rely on."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import main

REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """One demo store shared by the read-only CLI tests (building it takes a few seconds)."""
    folder = tmp_path_factory.mktemp("demo")
    assert main.main(["demo", "--data-dir", str(folder)]) == 0
    return folder


def test_demo_covers_every_state(capsys, demo_dir):
    """The demo has ≥5 enterprises, both inspection states, major and general hazards, photos."""
    code, out, _ = run(capsys, "--data-dir", str(demo_dir), "inspections", "--json")
    rows = json.loads(out)
    assert code == 0
    assert len({r["enterprise_id"] for r in rows}) >= 5
    assert {r["status"] for r in rows} == {"in_progress", "finalized"}
    finalized = [r for r in rows if r["status"] == "finalized"]
    assert any(r["major_hazards"] for r in finalized) and any(r["general_hazards"] for r in finalized)
    assert all({"id", "enterprise", "status", "started_at", "hazards"} <= r.keys() for r in rows)
    code, out, _ = run(capsys, "status", "--json", "--data-dir", str(demo_dir))
    status = json.loads(out)
    assert status["photos"] > 0 and status["enterprises"] >= 5
    assert status["audit_chain"]["intact"] and status["audit_events"] > 100
    assert status["hazards"].get("withdrawn") == 1
    assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", status["device_fingerprint"])


def test_demo_twice_changes_nothing(capsys, demo_dir):
    """Running demo again says so and adds nothing."""
    before = json.loads(run(capsys, "--data-dir", str(demo_dir), "status", "--json")[1])
    code, out, _ = run(capsys, "--data-dir", str(demo_dir), "demo")
    after = json.loads(run(capsys, "--data-dir", str(demo_dir), "status", "--json")[1])
    assert code == 0 and "已存在" in out
    assert before == after


def test_checklists_json_has_every_field(capsys, tmp_path):
    """checklists --json lists every item with all its fields."""
    code, out, _ = run(capsys, "checklists", "--json", "--data-dir", str(tmp_path))
    data = json.loads(out)
    assert code == 0 and {c["code"] for c in data} == {"dust", "confined_space", "ammonia", "general"}
    item = data[0]["items"][0]
    assert {"code", "area", "question", "how_to_check", "legal_basis", "major", "major_clause",
            "rectification", "deadline_days"} <= item.keys()
    assert sum(len(c["items"]) for c in data) >= 35


def test_env_var_chooses_data_dir(capsys, tmp_path, monkeypatch):
    """FIELDCHECK_DATA_DIR is used when --data-dir is not given."""
    monkeypatch.setenv("FIELDCHECK_DATA_DIR", str(tmp_path / "viaenv"))
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0 and json.loads(out)["data_dir"] == str(tmp_path / "viaenv")


def test_bad_input_is_one_chinese_line_and_nonzero(tmp_path):
    """A damaged database gives one Chinese line on stderr, no traceback, non-zero exit."""
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "fieldcheck.db").write_bytes(b"this is not a database" * 400)
    proc = subprocess.run([sys.executable, "main.py", "status", "--json", "--data-dir", str(folder)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.startswith("错误：数据库文件已损坏") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""
