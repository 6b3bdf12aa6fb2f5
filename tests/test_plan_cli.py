"""`plan create/draw/verify/publish`: the contract scripts rely on, on the demo's 名录库."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from openpyxl import load_workbook

import main

REPO = Path(__file__).resolve().parent.parent


def run(capsys, *argv):
    code = main.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    folder = tmp_path_factory.mktemp("office")
    assert main.main(["demo", "--data-dir", str(folder)]) == 0
    os.environ.setdefault("FIELDCHECK_AGENCY_PASSPHRASE", "agency-passphrase-1")
    assert main.main(["agency", "create", "--name", "湘乡市应急管理局", "--data-dir", str(folder)]) == 0
    return folder


def test_a_laptop_does_not_plan_or_draw(tmp_path, capsys):
    """Plans, draws and teams are made at the office; on a laptop the commands say so (exit 2,
    one line) and write nothing."""
    laptop = tmp_path / "laptop"
    assert main.main(["demo", "--data-dir", str(laptop)]) == 0
    capsys.readouterr()
    before = (laptop / "fieldcheck.db").read_bytes()
    for argv in (["plan", "create", "--year", "2026"], ["plan", "draw", str(uuid.uuid4()), "--seed", "1"],
                 ["plan", "assign", str(uuid.uuid4()), "--inspector", "a", "--inspector", "b"]):
        code, _out, err = run(capsys, *argv, "--data-dir", str(laptop))
        assert code == 2 and err.strip().count("\n") == 0 and "办公室" in err, (argv, err)
    assert (laptop / "fieldcheck.db").read_bytes() == before


def test_demo_register_is_large_enough_to_draw(office):
    """≥ 30 enterprises over the four classes and three areas, ≥ 6 inspectors, some 回避."""
    con = sqlite3.connect(office / "fieldcheck.db")
    try:
        firms = con.execute("SELECT risk_colour, has_dust, has_confined_space, has_ammonia, township "
                            "FROM enterprise").fetchall()
        inspectors = con.execute("SELECT count(*) FROM inspector").fetchone()[0]
        avoid = con.execute("SELECT count(*) FROM inspector_avoidance").fetchone()[0]
    finally:
        con.close()
    assert len(firms) >= 30 and {f[0] for f in firms} == {"red", "orange", "yellow", "blue"}
    assert all(any(f[i] for f in firms) for i in (1, 2, 3))
    assert all(f[4] for f in firms)
    assert inspectors >= 6 and avoid >= 2


def test_create_draw_verify_publish(capsys, office, tmp_path):
    code, out, err = run(capsys, "plan", "create", "--year", "2027", "--json", "--data-dir", str(office))
    assert code == 0, err
    plan_id = json.loads(out)["plan_id"]
    code, out, err = run(capsys, "--data-dir", str(office), "plan", "draw", plan_id, "--seed", "314159",
                         "--json")
    assert code == 0, err
    drawn = json.loads(out)
    assert drawn["draw_id"] and drawn["tasks"]
    assert all(len(set(t["inspector_ids"])) >= 2 and t["enterprise_id"] for t in drawn["tasks"])
    code, out, _ = run(capsys, "plan", "verify", plan_id, "--data-dir", str(office))
    assert code == 0 and "一致" in out
    code, _, err = run(capsys, "plan", "draw", plan_id, "--seed", "1", "--round", "1",
                       "--data-dir", str(office))
    assert code == 2 and "已经抽取" in err and "Traceback" not in err
    for name in ("pub.xlsx", "pub.pdf"):
        code, out, err = run(capsys, "plan", "publish", plan_id, "--out", str(tmp_path / name),
                             "--data-dir", str(office))
        assert code == 0, err
    sheet = load_workbook(tmp_path / "pub.xlsx").active
    text = "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
    assert "双随机" in text and "314159" in text
    # Nothing that is not to be published: phones, certificate numbers, staff names.
    for secret in ("13907321234", "0731-56781234", "43038120001", "陈建国", "张卫东"):
        assert secret not in text
    pdf_text = subprocess.run(["pdftotext", str(tmp_path / "pub.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
    assert "抽查结果公示" in pdf_text and "13907321234" not in pdf_text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "pub.pdf")], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(" yes " in line for line in fonts)


def test_verify_exits_1_on_a_tampered_store(capsys, tmp_path):
    """A clerk with SQLite changes who was drawn: `plan verify` exits 1 and says what differs."""
    folder = tmp_path / "office"
    assert main.main(["demo", "--data-dir", str(folder)]) == 0
    os.environ.setdefault("FIELDCHECK_AGENCY_PASSPHRASE", "agency-passphrase-1")
    assert main.main(["agency", "create", "--name", "湘乡市应急管理局", "--data-dir", str(folder)]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "plan", "create", "--year", "2027", "--json", "--data-dir", str(folder))
    plan_id = json.loads(out)["plan_id"]
    code, out, _ = run(capsys, "plan", "draw", plan_id, "--seed", "random", "--json",
                       "--data-dir", str(folder))
    assert code == 0 and json.loads(out)["seed"] != "random"
    con = sqlite3.connect(folder / "fieldcheck.db")
    con.execute("UPDATE plan_task SET enterprise_id = (SELECT min(id) FROM enterprise WHERE id "
                "NOT IN (SELECT enterprise_id FROM plan_task)) "  # a firm that was not drawn
                "WHERE id = (SELECT max(id) FROM plan_task WHERE kind = 'draw')")
    con.commit()
    con.close()
    proc = subprocess.run([sys.executable, str(REPO / "main.py"), "--data-dir", str(folder),
                           "plan", "verify", plan_id], capture_output=True, text=True,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                               "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1
    assert "待检任务与抽取结果不一致" in proc.stderr


def test_bad_input_is_one_chinese_line(capsys, office, tmp_path):
    code, _, err = run(capsys, "plan", "draw", "not-an-id", "--seed", "1", "--data-dir", str(office))
    assert code == 2 and err.startswith("错误：") and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "plan", "publish", "00000000-0000-0000-0000-000000000000",
                       "--out", str(tmp_path / "x.xlsx"), "--data-dir", str(office))
    assert code == 2 and "找不到该执法计划" in err


def test_publish_refuses_another_file_type(capsys, office, tmp_path):
    """`--out x.txt`: one Chinese line, exit 2, no file (the ending is checked in one place)."""
    code, out, _ = run(capsys, "plan", "list", "--data-dir", str(office))
    plan_id = out.split()[1] if out.strip() else None
    if plan_id is None:
        code, out, _ = run(capsys, "plan", "create", "--year", "2031", "--json", "--data-dir", str(office))
        plan_id = json.loads(out)["plan_id"]
    code, _, err = run(capsys, "plan", "publish", plan_id, "--out", str(tmp_path / "x.txt"),
                       "--data-dir", str(office))
    assert code == 2 and "不支持的公示文件类型：x.txt" in err
    assert not (tmp_path / "x.txt").exists()


def test_assign_a_focus_team_by_cli(capsys, office):
    """`plan assign TASK --inspector … --json` sets the team of a 重点检查 task (by id or 执法证号);
    one inspector, or one under 回避, is refused in one Chinese line, exit 2, the task unchanged."""
    con = sqlite3.connect(office / "fieldcheck.db")
    try:
        firm = con.execute("SELECT id FROM enterprise WHERE id NOT IN (SELECT enterprise_id FROM "
                           "inspector_avoidance WHERE enterprise_id IS NOT NULL) AND township <> "
                           "'月山镇' ORDER BY name").fetchone()[0]
        free = con.execute("SELECT id, certificate_no FROM inspector WHERE available = 1 AND id NOT IN "
                           "(SELECT inspector_id FROM inspector_avoidance) ORDER BY name").fetchall()
        [(avoider, avoided)] = con.execute(
            "SELECT inspector_id, enterprise_id FROM inspector_avoidance WHERE enterprise_id IS NOT "
            "NULL ORDER BY reason LIMIT 1").fetchall()
    finally:
        con.close()
    firm, avoided = (str(uuid.UUID(hex=h)) for h in (firm, avoided))
    code, out, err = run(capsys, "plan", "create", "--year", "2033", "--focus", firm, "--focus", avoided,
                         "--json", "--data-dir", str(office))
    assert code == 0, err
    plan_id = json.loads(out)["plan_id"]
    code, out, _ = run(capsys, "plan", "show", plan_id, "--json", "--data-dir", str(office))
    tasks = {t["enterprise_id"]: t for t in json.loads(out)["focus_tasks"]}
    assert tasks[firm]["inspector_ids"] == [] and tasks[avoided]["inspector_ids"] == []
    first, second = str(uuid.UUID(hex=free[0][0])), free[1][1]  # an id, a 执法证号
    code, out, err = run(capsys, "plan", "assign", tasks[firm]["task_id"], "--inspector", first,
                         "--inspector", second, "--json", "--data-dir", str(office))
    assert code == 0, err
    assert json.loads(out) == {"task_id": tasks[firm]["task_id"], "enterprise_id": firm,
                               "inspector_ids": [first, str(uuid.UUID(hex=free[1][0]))]}
    for argv in (["--inspector", first], ["--inspector", str(uuid.UUID(hex=avoider)), "--inspector", first]):
        code, _, err = run(capsys, "plan", "assign", tasks[avoided]["task_id"], *argv,
                           "--data-dir", str(office))
        assert code == 2 and err.startswith("错误：") and len(err.strip().splitlines()) == 1
    assert "回避（本企业）" in err
    code, out, _ = run(capsys, "plan", "show", plan_id, "--json", "--data-dir", str(office))
    after = {t["enterprise_id"]: t for t in json.loads(out)["focus_tasks"]}
    assert after[avoided]["inspector_ids"] == [] and len(after[firm]["team"]) == 2
