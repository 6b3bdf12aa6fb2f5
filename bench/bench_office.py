"""The office on PostgreSQL at scale, each figure beside a baseline of the same run.

Starts a throwaway PostgreSQL server (pg_ctl, as tests/support does; fsync on, as an office
server would run), then:

  1. imports L laptops' bundles (I inspections each, P photos) one after another into one
     office database: per-bundle import time, the last tenth against the first tenth
     (target ≤ 1.3×: flat as the database grows);
  2. two of those imports at once (two processes) against one alone (target ≤ 1.6×);
  3. fills the office with H hazards and times the ledger's first page with a filter (status
     and area) against a bare indexed SELECT … LIMIT 50 of the same table (target < 100 ms);
  4. Chinese search of hazard text at H hazards through the pg_trgm index, against the same
     LIKE with the index switched off (target < 50 ms).

The issue's figures are 200 laptops × 250 inspections and 1M hazards; --scale multiplies the
laptop and hazard counts (printed). Not measured here: the GUI start at office scale.
A benchmark prints; it never fails.

    .venv/bin/python bench/bench_office.py --scale 0.05      # 10 laptops, 50k hazards
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

import bench.bench_ledger as bench_ledger  # noqa: E402
from bench.bench_sync import base_jpeg, create_events, stamp  # noqa: E402
from models.checklist_library import latest_checklists  # noqa: E402
from models.audit import AuditEvent, chain_head  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.ledger import OVERDUE, TO_RECTIFY, LedgerFilter, ledger_page  # noqa: E402
from models.photo_store import photo_path  # noqa: E402
from models.startup import start_store  # noqa: E402
from models.tables import (Answer, AnswerResult, Enterprise, Inspection,  # noqa: E402
                           InspectionChecklist, InspectionInspector, InspectionStatus, Inspector,
                           Photo)
from models.inspection_rules import local_date  # noqa: E402
from sync.export import export_bundle  # noqa: E402
from sync.merge import import_bundle  # noqa: E402
from tests.support.stores import PostgresServer  # noqa: E402


def fill_laptop(store, laptop: int, inspections: int, photos: int, rng: random.Random) -> None:
    """A laptop of the agency: the shared register (same credit codes), its own inspectors
    and case numbers (laptop × 1000 + n), photos on disk, every row's create event."""
    now, dev = utcnow(), store.device_id
    with store.session() as s:
        checklist = next(iter(latest_checklists(s).values()))
        items = [i.id for i in checklist.items][:10]
    firms = [{**stamp(dev, now), "name": f"压测企业{n:03d}有限公司", "credit_code": f"91439999OFFC{n:06d}",
              "address": f"湘乡市第{n}工业园", "legal_representative": "张三", "representative_post": "总经理",
              "phone": "13900000000", "has_dust": True, "has_ammonia": False,
              "has_confined_space": False, "risk_colour": "blue", "township": f"第{n % 20}镇"}
             for n in range(50)]
    people = [{**stamp(dev, now), "name": f"检查员{laptop}-{n}", "certificate_no": f"OFFC{laptop:04d}{n}",
               "active": True} for n in range(2)]
    rows = {"inspection": [], "team": [], "lists": [], "answer": [], "photo": []}
    base = base_jpeg(rng)
    for n in range(inspections):
        started = now - timedelta(days=n % 300, hours=laptop % 24)
        ins = {**stamp(dev, started), "enterprise_id": firms[(n + laptop) % 50]["id"], "place": "车间",
               "started_at": started, "ended_at": started + timedelta(hours=2),
               "status": InspectionStatus.FINALIZED, "finalized_at": started + timedelta(hours=2),
               "case_year": 2026, "case_serial": laptop * 1000 + n + 1, "current_item_id": None,
               "follows_inspection_id": None}
        rows["inspection"].append(ins)
        rows["team"] += [{**stamp(dev, started), "inspection_id": ins["id"],
                          "inspector_id": people[k]["id"], "position": k} for k in (0, 1)]
        rows["lists"].append({**stamp(dev, started), "inspection_id": ins["id"],
                              "checklist_id": checklist.id, "position": 0})
        rows["answer"] += [{**stamp(dev, started), "inspection_id": ins["id"], "item_id": item,
                            "result": AnswerResult.COMPLIANT, "note": "", "answered_at": started}
                           for item in items]
    for n in range(photos):
        ins = rows["inspection"][n % inspections]
        data = base + laptop.to_bytes(4, "big") + n.to_bytes(8, "big")
        sha = hashlib.sha256(data).hexdigest()
        target = photo_path(store.photos_dir, sha, "jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        rows["photo"].append({**stamp(dev, ins["started_at"]), "inspection_id": ins["id"],
                              "answer_id": None, "hazard_id": None, "sha256": sha, "file_ext": "jpg",
                              "byte_size": len(data), "width": 180, "height": 180,
                              "original_name": f"IMG_{n:05d}.jpg", "caption": "", "taken_at": None,
                              "gps_lat": None, "gps_lon": None, "exif_orientation": 1, "rotation": 0})
    tables = ((Enterprise, firms), (Inspector, people), (Inspection, rows["inspection"]),
              (InspectionInspector, rows["team"]), (InspectionChecklist, rows["lists"]),
              (Answer, rows["answer"]), (Photo, rows["photo"]))
    with store.transaction(label="bench_fill") as s:
        for model, table_rows in tables:
            s.execute(insert(model.__table__), table_rows)
        s.execute(insert(AuditEvent.__table__), create_events(dev, tables, *chain_head(s, dev)))


def make_bundles(root: Path, laptops: int, inspections: int, photos: int) -> list[Path]:
    rng = random.Random(7)
    out = []
    for n in range(1, laptops + 1):
        store = start_store(root / f"laptop{n}")
        try:
            fill_laptop(store, n, inspections, photos, rng)
            out.append(root / "bundles" / f"laptop{n}.fcb")
            out[-1].parent.mkdir(exist_ok=True)
            export_bundle(store, out[-1], everything=True, encrypt=False)
        finally:
            store.close()
        shutil.rmtree(root / f"laptop{n}")
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def ms(fn, repeat: int = 7) -> float:
    fn()  # warm
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t) * 1000)
    return statistics.median(runs)


def cli_import(bundle: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "main.py", "import", str(bundle), "--data-dir", str(folder)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="× the issue's 200 laptops and 1M hazards")
    parser.add_argument("--inspections", type=int, default=250, help="per laptop")
    parser.add_argument("--photos", type=int, default=50, help="per laptop")
    args = parser.parse_args()
    laptops = max(10, round(200 * args.scale))
    hazards = max(10_000, round(1_000_000 * args.scale))
    print(f"scale {args.scale}: {laptops} laptops × {args.inspections} inspections, "
          f"{args.photos} photos each; {hazards:,} hazards; load {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-office-"))
    os.environ.pop("FIELDCHECK_DATABASE_URL", None)
    server = PostgresServer(options="-c max_connections=50")
    try:
        bundles = make_bundles(root, laptops + 2, args.inspections, args.photos)
        office_url = server.url(server.new_database())
        office = start_store(root / "office", office_url)
        try:
            times = [timed(lambda b=b: import_bundle(office, b)) for b in bundles[:laptops]]
        finally:
            office.close()
        tenth = max(1, laptops // 10)
        first, last = statistics.mean(times[:tenth]), statistics.mean(times[-tenth:])
        print(f"1. sequential imports: first tenth {first:.2f} s/bundle, last tenth {last:.2f} s "
              f"({last / first:.2f}×; target ≤ 1.3×)", flush=True)
        extra = bundles[laptops:]
        # one alone, then two at once (the next two laptops), into the same office
        for name in ("office2", "office3"):  # two empty offices
            start_store(root / name, server.url(server.new_database())).close()
        alone = timed(lambda: _wait(cli_import(extra[0], root / "office2")))
        both = timed(lambda: [_wait(p) for p in [cli_import(b, root / "office3") for b in extra]])
        print(f"2. two imports at once {both:.2f} s; one alone {alone:.2f} s ({both / alone:.2f}×; "
              f"target ≤ 1.6×)", flush=True)
        ledger_url = server.url(server.new_database())
        store = start_store(root / "ledger", ledger_url)
        try:
            t = timed(lambda: bench_ledger.fill(store, hazards))
            with store.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            print(f"   (filled {hazards:,} hazards in {t:.1f} s)", flush=True)
            today = local_date(utcnow())
            flt = LedgerFilter(statuses=frozenset({TO_RECTIFY, OVERDUE}), area="粉尘防爆")
            with store.session() as s:
                page = ms(lambda: ledger_page(s, flt, today, limit=50))
                with store.engine.connect() as raw:
                    bare = ms(lambda: raw.execute(text(
                        "SELECT id FROM hazard WHERE status = 'open' ORDER BY deadline LIMIT 50")).all())
                print(f"3. ledger first page, status+area filter: {page:.1f} ms; bare indexed "
                      f"SELECT … LIMIT 50 {bare:.1f} ms (target < 100 ms)", flush=True)
                search = ms(lambda: ledger_page(s, LedgerFilter(search="除尘系统"), today, limit=50))
                with store.engine.connect() as raw:
                    hit = lambda: raw.execute(text(  # noqa: E731
                        "SELECT id FROM hazard WHERE description ILIKE '%除尘系统%' LIMIT 50")).all()
                    indexed = ms(hit)
                    raw.execute(text("SET enable_bitmapscan = off"))
                    raw.execute(text("SET enable_indexscan = off"))
                    scan = ms(hit, repeat=3)
                print(f"4. Chinese search '除尘系统' (ledger page): {search:.1f} ms; the ILIKE alone "
                      f"through pg_trgm {indexed:.1f} ms vs. without the index {scan:.1f} ms "
                      f"(target < 50 ms)", flush=True)
        finally:
            store.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait(proc: subprocess.Popen) -> None:
    _out, err = proc.communicate()
    if proc.returncode != 0:
        print(f"   import failed: {err.strip().splitlines()[-1:]}", flush=True)


if __name__ == "__main__":
    main()
