"""How fast the two busiest listings are in a store the size of several years' work.

Fills a temporary store with 100k inspections and 1M answers (plus ~20k hazards, 500
enterprises, 10 inspectors and the inspection teams), then times

  1. models.reports.list_inspections: one page of 50, filtered by enterprise and status;
  2. models.reports.overdue_hazards: the first 50 overdue hazards (and a count of all).

Target: under 50 ms each on the 2-core reference machine. Each figure is printed next to a
baseline measured in the same run on the same file (a bare indexed SELECT through the
sqlite3 module), so the ratio means something on any machine. A benchmark prints; it never
fails.

    .venv/bin/python bench/bench_store.py                      # full size, a few minutes
    .venv/bin/python bench/bench_store.py --inspections 2000   # quick look
    .venv/bin/python bench/bench_store.py --keep /tmp/fc-bench # keep the data folder
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select  # noqa: E402

from models.checklist_library import latest_checklists  # noqa: E402
from models.tables import (Answer, AnswerResult, Enterprise, Hazard, HazardStatus,  # noqa: E402
                    Inspection, InspectionChecklist, InspectionInspector, InspectionStatus,
                    Inspector, RiskColour)
from models.reports import list_inspections, overdue_hazards  # noqa: E402
from models.startup import start_store  # noqa: E402
from models.store import Store  # noqa: E402

TARGET_MS = 50.0
PAGE = 50
ENTERPRISES = 500
INSPECTORS = 10
TEAM_SIZE = 2
SPAN_DAYS = 2 * 365
FINALIZED_SHARE = 0.9
CHUNK_INSPECTIONS = 2000  # ~20k answers per INSERT batch, one transaction per chunk
# Noncompliant answers (each becoming one hazard) per inspection: 0, 1 or 2 -> ~0.2 on average.
NONCOMPLIANT_WEIGHTS = (0.82, 0.16, 0.02)


# --------------------------------------------------------------------------- the data

@dataclass
class Item:
    id: uuid.UUID
    major: bool
    major_clause: str
    question: str
    legal_basis: str
    rectification: str
    deadline_days: int


@dataclass
class FillContext:
    rng: random.Random
    device: str
    now: datetime
    today: date
    per_inspection: int
    enterprises: list[uuid.UUID] = field(default_factory=list)
    enterprise_cum_weights: list[float] = field(default_factory=list)
    inspectors: list[uuid.UUID] = field(default_factory=list)
    checklists: list[tuple[uuid.UUID, list[Item]]] = field(default_factory=list)
    serials: Counter = field(default_factory=Counter)
    finalized_per_enterprise: Counter = field(default_factory=Counter)
    rows: Counter = field(default_factory=Counter)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def stamp(self, when: datetime) -> dict:
        return {"id": self.uuid(), "created_at": when, "updated_at": when, "device_id": self.device}


def load_items(store: Store) -> list[tuple[uuid.UUID, list[Item]]]:
    with store.session() as s:
        return [
            (c.id, [Item(i.id, i.major, i.major_clause, i.question, i.legal_basis,
                         i.rectification, i.deadline_days) for i in c.items])
            for c in latest_checklists(s).values()
        ]


def insert_rows(store: Store, table, rows: list[dict]) -> None:
    # Core INSERT ... executemany, never add_all: far faster at this size. It also bypasses
    # the before_flush hook, so these rows carry no audit events -- fine for a benchmark, on
    # a bare connection (the store's session refuses such writes: models.flush_hooks).
    if rows:
        with store.engine.begin() as conn:
            conn.execute(insert(table), rows)


def fill_registry(store: Store, ctx: FillContext) -> None:
    colours = list(RiskColour)
    enterprises = []
    for n in range(ENTERPRISES):
        row = ctx.stamp(ctx.now - timedelta(days=SPAN_DAYS + 30))
        row.update(
            name=f"压测企业{n:03d}有限公司", credit_code=f"91439999BENCH{n:05d}",  # 18 chars
            address=f"湘乡市压测路 {n} 号", legal_representative="张三", representative_post="总经理",
            phone="13900000000", has_dust=n % 2 == 0, has_ammonia=n % 5 == 0,
            has_confined_space=n % 3 == 0, risk_colour=colours[n % len(colours)],
        )
        enterprises.append(row)
    inspectors = []
    for n in range(INSPECTORS):
        row = ctx.stamp(ctx.now - timedelta(days=SPAN_DAYS + 30))
        row.update(name=f"检查员{n:02d}", certificate_no=f"BENCH{n:06d}", active=True)
        inspectors.append(row)
    insert_rows(store, Enterprise.__table__, enterprises)
    insert_rows(store, Inspector.__table__, inspectors)
    ctx.rows.update(enterprise=len(enterprises), inspector=len(inspectors))
    ctx.enterprises = [r["id"] for r in enterprises]
    ctx.inspectors = [r["id"] for r in inspectors]
    # A few busy enterprises, a long tail of rarely visited ones (Zipf-like).
    acc = 0.0
    for rank in range(1, ENTERPRISES + 1):
        acc += rank ** -0.7
        ctx.enterprise_cum_weights.append(acc)


def pick_items(ctx: FillContext) -> tuple[list[uuid.UUID], list[Item]]:
    """Checklists in random order until they hold enough items; then that many items."""
    order = ctx.rng.sample(ctx.checklists, len(ctx.checklists))
    chosen, pool = [], []
    for checklist_id, items in order:
        chosen.append(checklist_id)
        pool.extend(items)
        if len(pool) >= ctx.per_inspection:
            break
    return chosen, ctx.rng.sample(pool, ctx.per_inspection)


def hazard_status(ctx: FillContext, finalized: bool, deadline: date) -> tuple[HazardStatus, bool]:
    """(status, closed?) -- older hazards are mostly closed, some stay open past the deadline."""
    r = ctx.rng.random()
    if not finalized:
        return (HazardStatus.WITHDRAWN, False) if r < 0.05 else (HazardStatus.OPEN, False)
    if deadline < ctx.today:
        if r < 0.70:
            return HazardStatus.CLOSED, True
        if r < 0.75:
            return HazardStatus.NOT_RECTIFIED, True
        return HazardStatus.OPEN, False
    return (HazardStatus.CLOSED, True) if r < 0.2 else (HazardStatus.OPEN, False)


def make_hazard(ctx: FillContext, inspection: dict, answer: dict, item: Item) -> dict:
    found = answer["answered_at"]
    deadline = found.date() + timedelta(days=item.deadline_days)
    status, closed = hazard_status(ctx, inspection["status"] is InspectionStatus.FINALIZED, deadline)
    closed_at = None
    if closed:
        closed_at = min(ctx.now, found + timedelta(days=ctx.rng.randint(1, item.deadline_days + 30)))
    row = ctx.stamp(found)
    row.update(
        inspection_id=inspection["id"], answer_id=answer["id"], item_id=item.id,
        enterprise_id=inspection["enterprise_id"], description=f"不符合：{item.question[:60]}",
        legal_basis=item.legal_basis, is_major=item.major, major_clause=item.major_clause,
        rectification=item.rectification, deadline_days=item.deadline_days, deadline=deadline,
        status=status, found_at=found, closed_at=closed_at,
    )
    return row


def make_inspection(ctx: FillContext, enterprise_id: uuid.UUID, out: dict[str, list]) -> None:
    rng = ctx.rng
    started = ctx.now - timedelta(seconds=rng.uniform(3600, SPAN_DAYS * 86400))
    finalized = rng.random() < FINALIZED_SHARE
    ended = started + timedelta(hours=2) if finalized else None
    inspection = ctx.stamp(started)
    inspection.update(
        enterprise_id=enterprise_id, place="生产车间", started_at=started, ended_at=ended,
        status=InspectionStatus.FINALIZED if finalized else InspectionStatus.IN_PROGRESS,
        finalized_at=ended, case_year=None, case_serial=None,
        current_item_id=None, follows_inspection_id=None,
    )
    if finalized:
        ctx.serials[started.year] += 1
        inspection.update(case_year=started.year, case_serial=ctx.serials[started.year])
        ctx.finalized_per_enterprise[enterprise_id] += 1
    out["inspection"].append(inspection)
    for pos, inspector_id in enumerate(rng.sample(ctx.inspectors, TEAM_SIZE), 1):
        row = ctx.stamp(started)
        row.update(inspection_id=inspection["id"], inspector_id=inspector_id, position=pos)
        out["team"].append(row)
    checklist_ids, items = pick_items(ctx)
    for pos, checklist_id in enumerate(checklist_ids, 1):
        row = ctx.stamp(started)
        row.update(inspection_id=inspection["id"], checklist_id=checklist_id, position=pos)
        out["checklists"].append(row)
    noncompliant = rng.choices((0, 1, 2), weights=NONCOMPLIANT_WEIGHTS)[0]
    for n, item in enumerate(items):
        answered = started + timedelta(minutes=5 * (n + 1))
        if n < noncompliant:
            result = AnswerResult.NONCOMPLIANT
        else:
            result = AnswerResult.NOT_APPLICABLE if rng.random() < 0.05 else AnswerResult.COMPLIANT
        answer = ctx.stamp(answered)
        answer.update(inspection_id=inspection["id"], item_id=item.id, result=result, note="",
                      answered_at=answered)
        out["answer"].append(answer)
        if result is AnswerResult.NONCOMPLIANT:
            out["hazard"].append(make_hazard(ctx, inspection, answer, item))


def fill_inspections(store: Store, ctx: FillContext, total: int) -> tuple[float, float]:
    """Returns (seconds spent making rows, seconds spent inserting them)."""
    tables = {"inspection": Inspection.__table__, "team": InspectionInspector.__table__,
              "checklists": InspectionChecklist.__table__, "answer": Answer.__table__,
              "hazard": Hazard.__table__}
    making = inserting = 0.0
    done = 0
    while done < total:
        n = min(CHUNK_INSPECTIONS, total - done)
        t0 = time.perf_counter()
        out: dict[str, list] = {key: [] for key in tables}
        owners = ctx.rng.choices(ctx.enterprises, cum_weights=ctx.enterprise_cum_weights, k=n)
        for enterprise_id in owners:
            make_inspection(ctx, enterprise_id, out)
        t1 = time.perf_counter()
        with store.engine.begin() as conn:  # as insert_rows: no audit events, past the session
            for key, table in tables.items():  # parents before children (foreign keys are on)
                if out[key]:
                    conn.execute(insert(table), out[key])
        t2 = time.perf_counter()
        making += t1 - t0
        inserting += t2 - t1
        ctx.rows.update({key: len(rows) for key, rows in out.items()})
        done += n
        if done % 20000 == 0 or done == total:
            print(f"  ... {done:,} inspections", flush=True)
    return making, inserting


def _big_cache(dbapi_conn, _record) -> None:
    dbapi_conn.execute("PRAGMA cache_size=-262144")  # 256 MB: random UUID keys touch every page


def fill(store: Store, ctx: FillContext, total: int) -> None:
    print(f"filling {total:,} inspections x {ctx.per_inspection} answers "
          f"into {store.db_path} ...", flush=True)
    t0 = time.perf_counter()
    store.engine.dispose()
    event.listen(store.engine, "connect", _big_cache)  # for the fill's connections only
    try:
        fill_registry(store, ctx)
        making, inserting = fill_inspections(store, ctx, total)
    finally:
        event.remove(store.engine, "connect", _big_cache)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    # Drop the fill's connections: the timings below use fresh ones with the app's pragmas.
    store.engine.dispose()
    elapsed = time.perf_counter() - t0
    rows = sum(ctx.rows.values())
    size_mb = store.db_path.stat().st_size / 2**20
    print(f"fill: {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s; "
          f"making rows {making:.1f} s, INSERT {inserting:.1f} s = "
          f"{rows / max(inserting, 1e-9):,.0f} rows/s); file {size_mb:,.0f} MB")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in ctx.rows.items()))


# --------------------------------------------------------------------------- the timings

def time_ms(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def capture_sql(store: Store, fn: Callable[[], object]) -> tuple[str, tuple]:
    """The last statement (and its bound parameters) that `fn` sends to SQLite."""
    seen: list[tuple[str, tuple]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many):
        seen.append((statement, tuple(parameters)))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    return seen[-1]


def print_plan(raw: sqlite3.Connection, sql: str, params: tuple) -> None:
    depth = {0: 0}
    for node, parent, _unused, detail in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params):
        depth[node] = depth.get(parent, 0) + 1
        print(f"    plan: {'  ' * (depth[node] - 1)}{detail}")


def report(label: str, times: list[float], base: list[float], extra: str = "") -> bool:
    med, worst, base_med = statistics.median(times), max(times), statistics.median(base)
    ok = med < TARGET_MS
    print(f"{label}: median {med:.1f} ms, max {worst:.1f} ms; raw sqlite3 baseline "
          f"{base_med:.1f} ms; ratio {med / base_med:.1f}x; target < {TARGET_MS:.0f} ms: "
          f"{'OK' if ok else 'MISSED'}{extra}")
    return ok


def bench_list_page(store: Store, raw: sqlite3.Connection, enterprise_id: uuid.UUID,
                    runs: int, plans: bool) -> None:
    status = InspectionStatus.FINALIZED

    def orm() -> list:
        with store.session() as s:  # a fresh session per call, as a screen refresh would
            return list_inspections(s, enterprise_id=enterprise_id, status=status, limit=PAGE)

    base_sql = ("SELECT * FROM inspection WHERE enterprise_id = ? AND status = ? "
                "ORDER BY started_at DESC LIMIT ?")
    base_params = (enterprise_id.hex, status.value, PAGE)
    got, want = len(orm()), len(raw.execute(base_sql, base_params).fetchall())
    if got != want:
        print(f"  note: list_inspections returned {got} rows, the baseline {want}")
    times = time_ms(orm, runs)
    base = time_ms(lambda: raw.execute(base_sql, base_params).fetchall(), runs)
    ok = report("list page (enterprise+status)", times, base)
    sql, params = capture_sql(store, orm)
    own = time_ms(lambda: raw.execute(sql, params).fetchall(), runs)
    print(f"  (list_inspections' own SQL through raw sqlite3: median "
          f"{statistics.median(own):.1f} ms -- the rest is SQLAlchemy/ORM work)")
    if plans or not ok:
        print_plan(raw, sql, params)


def bench_overdue(store: Store, raw: sqlite3.Connection, today: date, runs: int,
                  plans: bool) -> None:
    def orm() -> list:
        with store.session() as s:
            return overdue_hazards(s, today, limit=PAGE)

    def orm_count() -> int:
        with store.session() as s:
            return s.scalar(
                select(func.count(Hazard.id))
                .join(Inspection, Inspection.id == Hazard.inspection_id)
                .where(Hazard.status == HazardStatus.OPEN, Hazard.deadline < today,
                       Inspection.status == InspectionStatus.FINALIZED))

    base_sql = ("SELECT hazard.* FROM hazard JOIN inspection ON inspection.id = hazard.inspection_id "
                "WHERE hazard.status = ? AND hazard.deadline < ? AND inspection.status = ? "
                "ORDER BY hazard.deadline LIMIT ?")
    base_params = (HazardStatus.OPEN.value, today.isoformat(), InspectionStatus.FINALIZED.value, PAGE)
    got, want = len(orm()), len(raw.execute(base_sql, base_params).fetchall())
    if got != want:
        print(f"  note: overdue_hazards returned {got} rows, the baseline {want}")
    times = time_ms(orm, runs)
    base = time_ms(lambda: raw.execute(base_sql, base_params).fetchall(), runs)
    ok = report("overdue hazards (first 50)", times, base)
    sql, params = capture_sql(store, orm)
    if plans or not ok:
        print_plan(raw, sql, params)

    total = orm_count()
    count_sql = ("SELECT count(*) FROM hazard JOIN inspection ON inspection.id = hazard.inspection_id "
                 "WHERE hazard.status = ? AND hazard.deadline < ? AND inspection.status = ?")
    times = time_ms(orm_count, runs)
    base = time_ms(lambda: raw.execute(count_sql, base_params[:3]).fetchone(), runs)
    ok = report("count of all overdue hazards", times, base, f" ({total:,} overdue)")
    sql, params = capture_sql(store, orm_count)
    if plans or not ok:
        print_plan(raw, sql, params)


# --------------------------------------------------------------------------- the run

def data_folder(keep: str | None) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    if keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="fieldcheck-bench-")
        return Path(tmp.name), tmp
    path = Path(keep).expanduser().resolve()
    if path.exists() and any(path.iterdir()):
        sys.exit(f"--keep {path}: the folder must be new or empty")
    path.mkdir(parents=True, exist_ok=True)
    return path, None


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inspections", type=int, default=100_000)
    ap.add_argument("--answers-per-inspection", type=int, default=10)
    ap.add_argument("--runs", type=int, default=20, help="timed runs per query, after one warm-up")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="build the store in DIR and keep it")
    ap.add_argument("--plans", action="store_true", help="always print EXPLAIN QUERY PLAN")
    args = ap.parse_args(argv)

    folder, tmp = data_folder(args.keep)
    print(f"FieldCheck store benchmark: Python {sys.version.split()[0]}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs")
    store = start_store(folder)
    try:
        now = datetime.now(timezone.utc)
        ctx = FillContext(rng=random.Random(args.seed), device=store.device_id, now=now,
                          today=now.date(), per_inspection=args.answers_per_inspection)
        ctx.checklists = load_items(store)
        available = sum(len(items) for _, items in ctx.checklists)
        if available < ctx.per_inspection:
            sys.exit(f"only {available} checklist items loaded from checklists/data; "
                     f"need at least {ctx.per_inspection} per inspection")
        print(f"checklists: {len(ctx.checklists)} with {available} items")
        fill(store, ctx, args.inspections)

        busy, finalized = ctx.finalized_per_enterprise.most_common(1)[0]
        print(f"timings: median/max of {args.runs} runs after one warm-up; a fresh session "
              f"per call; one raw sqlite3 connection for the baselines; warm OS cache")
        print(f"busiest enterprise: {finalized:,} finalized inspections")
        raw = sqlite3.connect(store.db_path)
        try:
            bench_list_page(store, raw, busy, args.runs, args.plans)
            bench_overdue(store, raw, ctx.today, args.runs, args.plans)
        finally:
            raw.close()
    finally:
        store.close()
        if tmp is not None:
            tmp.cleanup()
        else:
            print(f"data kept in {folder}")


if __name__ == "__main__":
    main()
