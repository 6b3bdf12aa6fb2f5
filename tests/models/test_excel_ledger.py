"""The Excel ledger read back with openpyxl: rows, types, sheets, frozen header and filters."""
import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.errors import FieldCheckError
from models.excel_ledger import LEDGER_COLUMNS, MAJOR_COLUMNS, export_ledger
from models.reinspection_rules import finalize_reinspection, record_review, start_reinspection
from tests.models.test_ledger import GENERAL, MAJOR, ordered_case, set_region, today

REPO_ROOT = Path(__file__).resolve().parents[2]


def as_date(value):
    """openpyxl reads an Excel date back as a datetime at midnight."""
    assert isinstance(value, datetime), value
    return value.date()


@pytest.fixture
def case(store, enterprise_id, team, clock):
    set_region(store)
    insp, hazards = ordered_case(store, enterprise_id, team, clock)
    clock.advance(days=70)  # past the major hazard's 60 days, within the general one's 90
    with store.transaction() as s:
        re_id = start_reinspection(s, insp, team, clock()).id
        record_review(s, re_id, hazards[MAJOR], rectified=True, note="宿舍已迁出")
        record_review(s, re_id, hazards[GENERAL], rectified=False, escalated=True)
        finalize_reinspection(s, re_id)
    return hazards


def test_workbook_has_rows_with_real_dates(store, clock, case, tmp_path):
    """One row per hazard with every column; dates are dates, the header frozen and filtered."""
    out = tmp_path / "台账.xlsx"
    with store.session() as s:
        assert export_ledger(s, out, today(clock)) == 2
    wb = load_workbook(out)
    assert wb.sheetnames == ["隐患台账", "重大隐患", "统计"]
    ws = wb["隐患台账"]
    header, *rows = list(ws.iter_rows(values_only=True))
    assert list(header) == [h for h, _w, _f in LEDGER_COLUMNS]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:O{len(rows) + 1}"
    by_code = {r[3]: dict(zip(header, r)) for r in rows}
    major, general = by_code[MAJOR], by_code[GENERAL]
    assert (major["序号"], major["等级"], major["状态"]) == (1, "重大", "已销号")
    assert as_date(major["销号日期"]) == today(clock)
    assert as_date(major["发现日期"]) == today(clock) - timedelta(days=70)
    assert isinstance(as_date(major["整改期限"]), date)
    assert major["整改指令书文号"].startswith("（湘乡）应急责改〔2026〕")
    assert (general["状态"], general["复查结论"], general["等级"]) == ("整改不合格", "移交行政处罚", "一般")
    assert general["销号日期"] is None and general["被检查单位"] == "湘乡市测试木业有限公司"


def test_major_sheet_and_summary(store, clock, case, tmp_path):
    """Major hazards get their own sheet with 一单四制 columns; the summary counts and rates."""
    out = tmp_path / "ledger.xlsx"
    with store.session() as s:
        export_ledger(s, out, today(clock))
    wb = load_workbook(out)
    header, *rows = list(wb["重大隐患"].iter_rows(values_only=True))
    assert list(header) == [h for h, _w, _f in MAJOR_COLUMNS] and len(rows) == 1
    assert rows[0][3] == MAJOR and header[-6:] == ("交办单位/责任人", "交办期限", "交办状态", "交办说明",
                                                   "台账编号", "通报日期")
    summary = {r[0]: r[1] for r in wb["统计"].iter_rows(values_only=True) if r and r[0]}
    assert summary["隐患总数"] == 2 and summary["已销号"] == 1
    assert summary["整改率（已销号/隐患总数）"] == 0.5
    assert summary["整改不合格"] == 1 and summary["粉尘防爆"] == 2


def test_unwritable_target_is_explained(store, clock, case, tmp_path):
    """A folder that does not exist gives a Chinese message, not a traceback."""
    with store.session() as s, pytest.raises(FieldCheckError, match="无法写入 Excel"):
        export_ledger(s, tmp_path / "missing" / "x.xlsx", today(clock))


@pytest.mark.slow
def test_cli_ledger_and_hazards_json(store, case, tmp_path):
    """`main.py ledger --out` writes the workbook; `main.py hazards --json` lists every hazard."""
    data_dir = str(store.data_dir)
    store.close()
    out = tmp_path / "cli.xlsx"
    run = subprocess.run([sys.executable, "main.py", "ledger", "--out", str(out),
                          "--data-dir", data_dir], cwd=REPO_ROOT, capture_output=True, text=True,
                         encoding="utf-8", timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2" in run.stdout and out.exists()
    assert load_workbook(out)["隐患台账"].max_row == 3
    run = subprocess.run([sys.executable, "main.py", "hazards", "--json", "--data-dir", data_dir],
                         cwd=REPO_ROOT, capture_output=True, text=True, encoding="utf-8",
                         timeout=120)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert sorted(r["item_code"] for r in rows) == sorted([MAJOR, GENERAL])
    assert {"enterprise", "level", "major_clause", "found_on", "deadline", "status",
            "order_number", "assigned_to", "ledger_no", "closed_on", "reported_on"} <= set(rows[0])


@pytest.mark.parametrize("name", ["=1+2", '=HYPERLINK("http://example.com","点此")', "@SUM(A1)"])
def test_record_text_stays_text_in_every_sheet(store, team, clock, tmp_path, name):
    """An enterprise named like a formula is a text cell in all three sheets (before: a live
    formula cell in each); the hazard text beside it too."""
    from tests.conftest import make_enterprise
    firm = make_enterprise(store, name=name)
    ordered_case(store, firm, team, clock, bad=(MAJOR,), place="=A1*2")
    out = tmp_path / "台账.xlsx"
    with store.session() as s:
        export_ledger(s, out, today(clock))
    wb = load_workbook(out)
    found = {sheet: [c for row in wb[sheet].iter_rows() for c in row if c.value == name]
             for sheet in ("隐患台账", "重大隐患", "统计")}
    assert all(found.values()), found
    for cells in found.values():
        assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    formulas = [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
