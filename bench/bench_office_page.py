"""What the 办公室 page asks of the store at office scale, each figure beside a baseline of the
same run (SQLite, as on a laptop; the office's PostgreSQL is measured by bench_office.py).

Fills H hazards (bench_ledger.fill: 500 enterprises, three years), then times
  1. the ledger's first page before and after a 交办 record for every tenth major hazard
     (the extra lookup of the assignments in force);
  2. the office page's refresh: this year's most urgent major hazards (the screen's first
     rows, ordered in SQL), their counts, the statistics by team, township, area, risk colour
     and month — and every row of the period (the 通报) — against the bare count of them.
A benchmark prints; it never fails.

    .venv/bin/python bench/bench_office_page.py --hazards 100000
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")

from sqlalchemy import func, insert, select  # noqa: E402

from bench import bench_ledger  # noqa: E402
from models.assignment import HazardAssignment  # noqa: E402
from models.inspection import Hazard  # noqa: E402
from models.inspection_rules import local_date  # noqa: E402
from models.ledger import LedgerFilter, ledger_page  # noqa: E402
from models.office_views import major_hazards, major_summary, office_statistics  # noqa: E402
from models.startup import start_store  # noqa: E402
from ui.office_page import LIST_LIMIT  # noqa: E402


def ms(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hazards", type=int, default=100_000)
    args = parser.parse_args()
    print(f"{args.hazards:,} hazards; load {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs",
          flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-office-page-"))
    store = start_store(root / "office")
    try:
        bench_ledger.fill(store, args.hazards)
        today = local_date(datetime.now(timezone.utc))
        year = (date(today.year, 1, 1), today)
        with store.session() as s:
            majors = list(s.scalars(select(Hazard.id).where(Hazard.is_major.is_(True))))
            before = ms(lambda: ledger_page(s, LedgerFilter(major_only=True), today))
        now = datetime.now(timezone.utc)
        rows = [dict(id=uuid.uuid4(), created_at=now, updated_at=now, device_id=store.device_id,
                     hazard_id=h, assignee="湘乡市月山镇人民政府", deadline=today + timedelta(days=9),
                     note="", assigned_at=now, assigned_by="办公室", replaces_id=None)
                for h in majors[::10]]
        with store.engine.begin() as conn:  # synthetic, unaudited: past the store's session
            conn.execute(insert(HazardAssignment), rows)
        with store.session() as s:
            after = ms(lambda: ledger_page(s, LedgerFilter(major_only=True), today))
            print(f"1. ledger first page, major only: {after:.1f} ms with {len(rows):,} 交办 "
                  f"records; {before:.1f} ms before them", flush=True)
            period = LedgerFilter(major_only=True, found_from=year[0], found_to=year[1])
            bare = ms(lambda: s.scalar(select(func.count()).select_from(Hazard).where(
                Hazard.is_major.is_(True), Hazard.found_at >= datetime(today.year, 1, 1,
                                                                       tzinfo=timezone.utc))))
            every = ms(lambda: major_hazards(s, today, *year), repeat=3)
            n = len(major_hazards(s, today, *year))
            screen = ms(lambda: major_hazards(s, today, *year, limit=LIST_LIMIT), repeat=3)
            counts = ms(lambda: major_summary(s, today, *year), repeat=3)
            stats = ms(lambda: office_statistics(s, today, LedgerFilter(found_from=year[0],
                                                                        found_to=year[1])), repeat=3)
            print(f"2. office page, this year ({period.found_from}…{period.found_to}): "
                  f"{n:,} major hazards; the screen's {LIST_LIMIT} most urgent {screen:.0f} ms, "
                  f"their counts {counts:.0f} ms, statistics {stats:.0f} ms; every row (the 通报) "
                  f"{every:.0f} ms; bare count of them {bare:.1f} ms", flush=True)
    finally:
        store.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
