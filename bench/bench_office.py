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

  5. the GUI start at office scale (`main.py` in a subprocess, median of --runs after a
     warm-up): window shown and data shown, next to a bare PySide6 window — on SQLite with
     --gui-inspections (the issue: 100k) and on the office databases of 1. and 3.; beside it,
     what is no longer on that path: PRAGMA quick_check over the file (now run behind the
     shown data), and the due reminder's column sizing (now by the first rows; Qt's default
     of 1000 rows measured in the same run).

The issue's figures are 200 laptops × 250 inspections and 1M hazards; --scale multiplies the
laptop and hazard counts (printed). A benchmark prints; it never fails.

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
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import insert, text  # noqa: E402

import bench.bench_ledger as bench_ledger  # noqa: E402
from bench.bench_sync import base_jpeg, create_events, stamp  # noqa: E402
from models.checklist_library import latest_checklists  # noqa: E402
from models.audit import AuditEvent, chain_head  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.flush_hooks import audited_by_caller  # noqa: E402
from models.ledger import OVERDUE, TO_RECTIFY, LedgerFilter, ledger_page  # noqa: E402
from models.photo_store import photo_path  # noqa: E402
from models.startup import start_store  # noqa: E402
from models.tables import (Answer, AnswerResult, Enterprise, Inspection,  # noqa: E402
                           InspectionChecklist, InspectionInspector, InspectionStatus, Inspector,
                           Photo)
from models.inspection_rules import local_date  # noqa: E402
from sync import crypto  # noqa: E402
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
    with store.transaction(label="bench_fill") as s, audited_by_caller(s):  # events: ours
        for model, table_rows in tables:
            s.execute(insert(model.__table__), table_rows)
        s.execute(insert(AuditEvent.__table__), create_events(dev, tables, *chain_head(s, dev)))


SENDER: dict[Path, str] = {}  # bundle → its laptop's signing fingerprint


def make_bundles(root: Path, laptops: int, inspections: int, photos: int) -> list[Path]:
    rng = random.Random(7)
    out = []
    for n in range(1, laptops + 1):
        store = start_store(root / f"laptop{n}")
        try:
            fill_laptop(store, n, inspections, photos, rng)
            out.append(root / "bundles" / f"laptop{n}.fcb")
            # the office has no agency here: each laptop is trusted by its fingerprint
            SENDER[out[-1]] = crypto.fingerprint(crypto.public_key_text(
                crypto.device_signing_key(store.data_dir)))
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
    return subprocess.Popen([sys.executable, "main.py", "import", str(bundle), "--data-dir", str(folder),
                             "--trust-new-device", SENDER[bundle]],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="× the issue's 200 laptops and 1M hazards")
    parser.add_argument("--inspections", type=int, default=250, help="per laptop")
    parser.add_argument("--photos", type=int, default=50, help="per laptop")
    parser.add_argument("--gui-inspections", type=int, default=100_000, help="SQLite GUI start")
    parser.add_argument("--runs", type=int, default=3, help="timed GUI starts, after a warm-up")
    parser.add_argument("--skip", default="", help="leave out 1 and 2 (imports: \"12\") and/or 5 (GUI)")
    args = parser.parse_args()
    laptops = max(10, round(200 * args.scale))
    hazards = max(10_000, round(1_000_000 * args.scale))
    print(f"scale {args.scale}: {laptops} laptops × {args.inspections} inspections, "
          f"{args.photos} photos each; {hazards:,} hazards; load {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs", flush=True)
    root = Path(tempfile.mkdtemp(prefix="bench-office-"))
    os.environ.pop("FIELDCHECK_DATABASE_URL", None)
    server = PostgresServer(options="-c max_connections=50")
    gui_targets = []
    try:
        if "1" not in args.skip or "2" not in args.skip:
            gui_targets.append(("office after 1.", root / "office",
                                imports(server, root, laptops, args, "2" not in args.skip)))
        ledger_url = server.url(server.new_database())
        store = start_store(root / "ledger", ledger_url)
        gui_targets.append((f"ledger store of 3. ({hazards:,} hazards)", root / "ledger", ledger_url))
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
                with store.engine.connect() as raw:
                    hit = lambda: raw.execute(text(  # noqa: E731
                        "SELECT id FROM hazard WHERE description LIKE '%除尘系统%' LIMIT 50")).all()
                    indexed = ms(hit)
                print(f"4. Chinese search, ledger page (50 rows + count) at {hazards:,} hazards; "
                      f"baseline: the bare LIKE … LIMIT 50 through pg_trgm {indexed:.1f} ms; "
                      f"target < 50 ms", flush=True)
                import models.ledger as ledger
                for term, what in (("除尘系统", "hazard text, ~10% of hazards"),
                                   ("压测企业123", "a firm's name"), ("NH3-01", "an item code"),
                                   ("DUST", "the code prefix of 15 items"),
                                   ("不存在的词语", "no hit")):
                    page = ms(lambda: ledger_page(s, LedgerFilter(search=term), today, limit=50))
                    found = ledger._resolve_search(s, LedgerFilter(search=term))
                    # the page before it was found arm by arm: one walk of the deadline order
                    # filtered by the whole search (its count left out)
                    walk = (ledger._filtered(ledger._HAZARD_COLUMNS, found, today, ledger.DEFAULT_DUE_DAYS)
                            .order_by(*ledger._ordering(False)).limit(50))
                    old = ms(lambda: s.execute(walk).all(), repeat=3)
                    print(f"   '{term}' ({what}): {page:.1f} ms; one walk of the deadline order "
                          f"{old:.1f} ms (load {os.getloadavg()[0]:.1f})", flush=True)
        finally:
            store.close()
        if "5" not in args.skip:
            gui_start(root, args, gui_targets)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def imports(server, root: Path, laptops: int, args, at_once: bool) -> str:
    """1. and 2.; returns the office database of 1."""
    bundles = make_bundles(root, laptops + 2, args.inspections, args.photos)
    office_url = server.url(server.new_database())
    office = start_store(root / "office", office_url)
    try:
        times = [timed(lambda b=b: import_bundle(office, b, trust_new_device=SENDER[b])) for b in bundles[:laptops]]
    finally:
        office.close()
    tenth = max(1, laptops // 10)
    first, last = statistics.mean(times[:tenth]), statistics.mean(times[-tenth:])
    print(f"1. sequential imports: first tenth {first:.2f} s/bundle, last tenth {last:.2f} s "
          f"({last / first:.2f}×; target ≤ 1.3×)", flush=True)
    if not at_once:
        return office_url
    extra = bundles[laptops:]
    # Two more laptops, each into an office that already holds the register (as after the
    # laptop's first import: the usual day at the office), and into one that does not (both
    # bring the same new firms: the second import meets the first's rows and is made again
    # alone, models.store). Baselines of the same run: one import alone; and the same two at
    # once into two separate databases (no shared rows, no locks: what two cores allow).
    seed = bundles[0]

    def office_with_register(name: str, seeded: bool = True) -> Path:
        folder = root / name
        store = start_store(folder, server.url(server.new_database()))
        try:
            if seeded:
                import_bundle(store, seed, trust_new_device=SENDER[seed])
        finally:
            store.close()
        return folder

    offices = {name: office_with_register(name, seeded=not name.endswith("fresh"))
               for name in ("alone", "apart1", "apart2", "shared", "alone-fresh", "fresh")}
    load = os.getloadavg()[0]

    def at_once(pairs) -> float:
        return timed(lambda: [_wait(p) for p in [cli_import(b, offices[f]) for b, f in pairs]])
    alone = at_once([(extra[0], "alone")])
    separate = at_once(zip(extra, ("apart1", "apart2")))
    both = at_once(zip(extra, ("shared", "shared")))
    alone_fresh = at_once([(extra[0], "alone-fresh")])
    both_fresh = at_once(zip(extra, ("fresh", "fresh")))
    print(f"2. two imports at once into one office {both:.2f} s; one alone {alone:.2f} s "
          f"({both / alone:.2f}×; target ≤ 1.6×); the same two into two separate databases "
          f"{separate:.2f} s ({separate / alone:.2f}×: the floor on this machine); "
          f"load {load:.1f} → {os.getloadavg()[0]:.1f}", flush=True)
    print(f"   both bringing the same new register (empty office): at once {both_fresh:.2f} s, "
          f"one alone {alone_fresh:.2f} s ({both_fresh / alone_fresh:.2f}×; the second is made "
          f"again alone)", flush=True)
    return office_url


def gui_start(root: Path, args, targets) -> None:
    """5. The GUI start at office scale: subprocesses, as a clerk starts it."""
    import bench_ui  # noqa: E402  (Qt offscreen, its store filler and process timer)
    from PySide6.QtWidgets import QApplication
    from models.store import quick_check
    main = [sys.executable, "main.py", "--data-dir"]
    bare, _ = bench_ui.time_process([sys.executable, "-c", bench_ui.BARE_WINDOW], args.runs)
    print(f"5. GUI start (median of {args.runs}; load {os.getloadavg()[0]:.1f}): bare PySide6 "
          f"window {statistics.median(bare):.2f} s", flush=True)
    laptop = root / "gui-laptop"
    with bench_ui._quiet():
        bench_ui.fill_store(laptop, args.gui_inspections, 1)
    for label, folder, url in [(f"SQLite, {args.gui_inspections:,} inspections", laptop, None),
                               *targets]:
        argv = main + [str(folder)] + (["--database-url", url] if url else [])
        shown, _ = bench_ui.time_process(argv, args.runs)
        ready, _ = bench_ui.time_process(argv, args.runs, "FIELDCHECK_EXIT_AFTER_READY")
        print(f"   {label}: window {statistics.median(shown):.2f} s, data shown "
              f"{statistics.median(ready):.2f} s (runs {', '.join(f'{t:.2f}' for t in ready)}; "
              f"target < 2 s)", flush=True)
    check = statistics.median(timed(lambda: quick_check(laptop / "fieldcheck.db")) for _ in range(3))
    print(f"   PRAGMA quick_check over that SQLite file {check:.2f} s: now behind the shown data",
          flush=True)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    import ui.due_dialog
    store = start_store(laptop)
    try:
        def reminder() -> int:
            dialog = ui.due_dialog.DueDialog(store)
            dialog.show()
            app.processEvents()
            rows = len(dialog.due.overdue) + len(dialog.due.due_soon)
            dialog.deleteLater()
            return rows
        rows = reminder()
        now = statistics.median(timed(reminder) for _ in range(3))
        ui.due_dialog.SIZING_ROWS = 1000  # Qt's default: what it read before
        before = statistics.median(timed(reminder) for _ in range(3))
        print(f"   due reminder ({rows:,} rows) built and shown {now:.2f} s; sized by Qt's default "
              f"1000 rows {before:.2f} s (same run)", flush=True)
    finally:
        store.close()


def _wait(proc: subprocess.Popen) -> None:
    _out, err = proc.communicate()
    if proc.returncode != 0:
        print(f"   import failed: {err.strip().splitlines()[-1:]}", flush=True)


if __name__ == "__main__":
    main()
