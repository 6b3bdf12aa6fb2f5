"""The office's views across laptops: statistics by team, township, area, colour and month;
major hazards overdue first; the 通报 of a period as Excel and PDF. Both backends."""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from models.demo import build_demo
from documents.office_report import run_office_report
from models.office_views import major_hazards, office_statistics
from models.registry import Enterprise
from tests.sync.conftest import DEMO_NOW

TODAY = DEMO_NOW.date()


def _demo(store):
    build_demo(store, now=DEMO_NOW)
    with store.transaction() as s:
        firms = s.scalars(select(Enterprise).order_by(Enterprise.credit_code)).all()
        first = firms[0]
        for firm in firms:  # through the models (a bulk UPDATE is refused: not audited)
            firm.township = "经济开发区" if firm is first else "月山镇"
    return first.name


def test_statistics_by_team_township_area_colour_and_month(store):
    _demo(store)
    with store.session() as s:
        stats = office_statistics(s, TODAY)
    total = sum(t.hazards for t in stats["area"])
    assert total > 0
    for key in ("team", "township", "area", "risk_colour", "month"):
        assert sum(t.hazards for t in stats[key]) == total, key
    assert {t.label for t in stats["township"]} <= {"经济开发区", "月山镇"}
    assert any("张卫东" in t.label for t in stats["team"])
    assert [t.label for t in stats["month"]] == sorted(t.label for t in stats["month"])
    assert all(len(t.label) == 7 and t.label[4] == "-" for t in stats["month"])


def test_major_hazards_overdue_first(store):
    _demo(store)
    later = TODAY + timedelta(days=60)  # by then some deadlines have passed
    with store.session() as s:
        rows = major_hazards(s, later)
    assert rows and all(r.is_major for r in rows)
    overdue = [r.days_overdue for r in rows]
    assert overdue == sorted(overdue, reverse=True) and overdue[0] > 0


def test_report_writes_excel_and_pdf_of_the_period(store, tmp_path):
    name = _demo(store)
    summary = run_office_report(store, tmp_path, "2026-01-01", "2026-12-31", TODAY)
    assert summary["major_hazards"] > 0
    sheet = load_workbook(summary["xlsx"])["重大事故隐患通报"]
    assert sheet.max_row == 3 + summary["major_hazards"]
    text = subprocess.run(["pdftotext", summary["pdf"], "-"], capture_output=True, text=True).stdout
    assert "重大事故隐患通报" in text and "逾期" in text
    fonts = subprocess.run(["pdffonts", summary["pdf"]], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts or "Sung" in fonts
    assert "Helvetica" not in fonts  # every font embedded
    empty = run_office_report(store, tmp_path / "none", "2020-01-01", "2020-01-31", TODAY)
    assert empty["major_hazards"] == 0
    assert name


def test_report_writes_record_text_as_text(store, tmp_path):
    """An enterprise named like a formula stays text in the office's 通报 (#11 point 8)."""
    _demo(store)
    with store.transaction() as s:
        for firm in s.scalars(select(Enterprise)):
            firm.name = "=HYPERLINK(\"http://x\",\"点此\")" + firm.name
    summary = run_office_report(store, tmp_path, "2026-01-01", "2026-12-31", TODAY)
    sheet = load_workbook(summary["xlsx"])["重大事故隐患通报"]
    names = [c for row in sheet.iter_rows(min_row=4) for c in row
             if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert names and all(c.data_type == "s" and c.quotePrefix for c in names)
