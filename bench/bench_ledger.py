"""How fast the hazard ledger (隐患台账) is with 100k hazards.

Fills a temporary store with 100k ordered hazards (20k finalized inspections of 500
enterprises, 5 hazards each, every status), then times

  1. filtering and showing one page of 100 rows in the ledger table (query + count + the
     Qt model filled and every visible cell read), for several filters — target < 100 ms;
  2. exporting all 100k rows to Excel (openpyxl write-only mode), printed.

Next to each figure: a baseline from the same run on the same file (a bare indexed SELECT of
100 rows through the sqlite3 module). A benchmark prints; it never fails.

    .venv/bin/python bench/bench_ledger.py                   # full size (~1 min)
    .venv/bin/python bench/bench_ledger.py --hazards 10000   # quick look
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from models.checklist_library import latest_checklists  # noqa: E402
from models.excel_ledger import export_ledger  # noqa: E402
from models.inspection_rules import local_date  # noqa: E402
from models.ledger import (CLOSED, DUE, OVERDUE, LedgerFilter,  # noqa: E402
                           ledger_statistics)
from models.startup import start_store  # noqa: E402
from models.tables import (AgencySettings, Answer, AnswerResult, Enterprise, Hazard,  # noqa: E402
                           HazardStatus, Inspection, InspectionStatus)

TARGET_MS = 100.0
PAGE = 100
ENTERPRISES = 500
PER_INSPECTION = 5
SPAN_DAYS = 3 * 365
CHUNK = 20_000


def _stamp(rng, device, when):
    return {"id": uuid.UUID(int=rng.getrandbits(128), version=4), "created_at": when,
            "updated_at": when, "device_id": device}


def _hazard_state(rng, deadline, today):
    r = rng.random()
    if deadline < today:
        if r < 0.75:
            return HazardStatus.CLOSED, None, False
        if r < 0.85:
            return HazardStatus.NOT_RECTIFIED, deadline + timedelta(days=30), r < 0.80
        return HazardStatus.OPEN, None, False
    return (HazardStatus.CLOSED, None, False) if r < 0.2 else (HazardStatus.OPEN, None, False)


def fill(store, hazards: int, seed: int = 7) -> None:
    rng, device = random.Random(seed), store.device_id
    now = datetime.now(timezone.utc)
    today = local_date(now)
    with store.session() as s:
        items = [i for c in latest_checklists(s).values() for i in c.items]
    with store.transaction() as s:
        s.add(AgencySettings(agency_name="湘乡市应急管理局", region_short="湘乡"))
    enterprises = []
    for n in range(ENTERPRISES):
        row = _stamp(rng, device, now)
        row.update(name=f"压测企业{n:03d}有限公司", credit_code=f"91439999BENCH{n:05d}",
                   address="", legal_representative="", representative_post="", phone="",
                   has_dust=True, has_ammonia=False, has_confined_space=False, risk_colour="blue")
        enterprises.append(row)
    # Synthetic rows by Core straight to the database, without audit events: the store's
    # session refuses such writes (models.flush_hooks), a bare connection is past it.
    with store.engine.begin() as conn:
        conn.execute(insert(Enterprise), enterprises)
    serials: dict[int, int] = {}
    rows = {"inspection": [], "answer": [], "hazard": []}

    def flush():
        with store.engine.begin() as conn:
            for table in (Inspection, Answer, Hazard):
                if rows[table.__tablename__]:
                    conn.execute(insert(table), rows[table.__tablename__])
        for v in rows.values():
            v.clear()

    for n in range(hazards // PER_INSPECTION):
        started = now - timedelta(seconds=rng.uniform(3600, SPAN_DAYS * 86400))
        serials[started.year] = serials.get(started.year, 0) + 1
        insp = _stamp(rng, device, started)
        insp.update(enterprise_id=rng.choice(enterprises)["id"], place="车间", started_at=started,
                    ended_at=started, status=InspectionStatus.FINALIZED, finalized_at=started,
                    case_year=started.year, case_serial=serials[started.year], kind="inspection")
        rows["inspection"].append(insp)
        for item in rng.sample(items, PER_INSPECTION):
            answer = _stamp(rng, device, started)
            answer.update(inspection_id=insp["id"], item_id=item.id, note="",
                          result=AnswerResult.NONCOMPLIANT, answered_at=started)
            deadline = started.date() + timedelta(days=item.deadline_days)
            status, current, escalated = _hazard_state(rng, deadline, today)
            hazard = _stamp(rng, device, started)
            hazard.update(
                inspection_id=insp["id"], answer_id=answer["id"], item_id=item.id,
                enterprise_id=insp["enterprise_id"], description=f"不符合：{item.question[:40]}",
                legal_basis="", is_major=item.major, major_clause=item.major_clause,
                rectification="", deadline_days=item.deadline_days, deadline=deadline,
                status=status, found_at=started, current_deadline=current, escalated=escalated,
                closed_at=started + timedelta(days=5) if status == HazardStatus.CLOSED else None,
                assigned_to="", ledger_no="", reported_on=None)
            rows["answer"].append(answer)
            rows["hazard"].append(hazard)
        if len(rows["hazard"]) >= CHUNK:
            flush()
    flush()  # no ANALYZE: the app never runs it, so neither does the benchmark


def _ms(fn, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def _show_page(page_widget, flt):
    """What the ledger screen does on a filter change: query, count, fill, paint."""
    page_widget.apply_filter(flt)
    page_widget.table.viewport().grab()  # paints every visible cell through the model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=100_000)
    parser.add_argument("--keep", metavar="DIR", help="keep the data folder here")
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication
    from ui.ledger_page import LedgerPage
    app = QApplication.instance() or QApplication([])  # noqa: F841  (QFont needs it)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="fc-ledger-"))
    store = start_store(folder)
    t = time.perf_counter()
    fill(store, args.hazards)
    print(f"filled {args.hazards} hazards in {time.perf_counter() - t:.1f} s ({folder})")
    today = local_date(datetime.now(timezone.utc))
    con = sqlite3.connect(store.db_path)
    base = _ms(lambda: con.execute(
        "SELECT * FROM hazard ORDER BY coalesce(current_deadline, deadline) LIMIT 100").fetchall())
    con.close()
    print(f"baseline: bare indexed SELECT of {PAGE} rows: {base:.1f} ms")
    screen = LedgerPage(store, None)
    screen.resize(1176, 720)
    screen.show()
    with store.session() as s:
        some_enterprise = s.scalar(Enterprise.__table__.select().with_only_columns(Enterprise.id))
    cases = {
        "no filter": LedgerFilter(),
        "status 逾期": LedgerFilter(statuses=frozenset({OVERDUE})),
        "status 待复查+逾期": LedgerFilter(statuses=frozenset({DUE, OVERDUE})),
        "status 已销号": LedgerFilter(statuses=frozenset({CLOSED})),
        "area + major only": LedgerFilter(area="粉尘防爆", major_only=True),
        "one enterprise": LedgerFilter(enterprise_id=some_enterprise),
        "found in last 90 days": LedgerFilter(found_from=today - timedelta(days=90)),
        "search 除尘": LedgerFilter(search="除尘"),
    }
    for name, flt in cases.items():
        ms = _ms(lambda flt=flt: _show_page(screen, flt))
        verdict = "ok" if ms < TARGET_MS else "SLOW"
        print(f"filter+show page ({name:>18}): {ms:7.1f} ms  (target < {TARGET_MS:.0f} ms, "
              f"{ms / base:5.1f}x baseline) {verdict}")
    with store.session() as s:
        ms = _ms(lambda: ledger_statistics(s, today), repeat=3)
    print(f"statistics (all counts, top items): {ms:7.1f} ms")
    out = folder / "ledger.xlsx"
    with store.session() as s:
        t = time.perf_counter()
        n = export_ledger(s, out, today)
        secs = time.perf_counter() - t
    print(f"Excel export of {n} rows (write-only): {secs:.1f} s, {out.stat().st_size / 1e6:.1f} MB")
    store.close()
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
