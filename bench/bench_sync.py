"""How fast a USB-stick bundle is written and imported, next to a plain zip of the same files.

Fills a temporary laptop store with 1,000 inspections (enterprises, inspectors, teams,
answers), the audit event that created each row (a real bundle carries them, and the import
checks every chain and stores every event) and 5,000 photos of ~100 KB on disk, then times,
in the same run:

  1. export_bundle (everything): records + photos into a signed zip, hashes included;
  2. import_bundle of that file into a fresh office store: full verification, staging,
     the merge in one transaction, the audit events; then the same file again (nothing new:
     every byte still hashed, the photos already held neither staged nor replaced);
  3. baseline: a plain ZIP_STORED zip of the same photo files (zipfile.write) and
     extracting it (extractall) — no hashes, no records, no verification. Both sides are
     made durable the same way (the zip file fsync'ed; the extracted files os.sync'ed, as
     the import does), and every step starts after an os.sync so none pays for another's
     dirty pages.

Target: export ≥ 0.6× the plain zip's throughput, import ≥ 0.6× the plain unzip's (and
the zip's). The four steps run --repeat rounds, interleaved, on fresh targets, and the
medians are shown beside the machine's load: the 2-core machine is often shared, and
interleaving lets a busy moment hit baseline and bundle alike.

Before that (`--incremental N`, default 20,000; 0 skips it): a delta bundle (issue #13) — a
store of N inspections whose every row has its audit event, one exchange with an office (the
whole store there, the office's bundle back for this laptop), then `--new` (10) inspections:
their delta for the office, against the self-contained export of the same change to a plain
folder (every chain whole). Target: ≤ 0.3 s, records ≤ 2× the new inspections' own rows and
events. A benchmark prints; it never fails.

    .venv/bin/python bench/bench_sync.py                        # 20k delta, then 1,000 / 5,000
    .venv/bin/python bench/bench_sync.py --incremental 0 --inspections 100 --photos 500   # quick look
    .venv/bin/python bench/bench_sync.py --growth     # import time against the store's size (#13)
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

# Unattended: the keys-at-rest passphrase path (sync.keystore), never the user's keyring.
os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from models.checklist_library import latest_checklists  # noqa: E402
from models.audit import AuditEvent, canonical_json, chain_head, event_hash  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.flush_hooks import audited_by_caller  # noqa: E402
from models.photo_store import photo_path  # noqa: E402
from models.startup import start_store  # noqa: E402
from models.tables import (Answer, AnswerResult, Enterprise, Inspection,  # noqa: E402
                           InspectionChecklist, InspectionInspector, InspectionStatus, Inspector,
                           Photo)
from models.tables import Base  # noqa: E402
from sync.crypto import device_fingerprint  # noqa: E402
from sync.destinations import STATE_FILE  # noqa: E402
from sync.export import _records_entries, export_bundle  # noqa: E402
from sync.selection import fetch_in  # noqa: E402
from sync.merge import import_bundle  # noqa: E402

PHOTO_BYTES = 100 * 1024
ANSWERS = 10


def base_jpeg(rng: random.Random) -> bytes:
    """A real JPEG of about PHOTO_BYTES (noise compresses badly, like a camera photo)."""
    side = 180
    while True:
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        out = io.BytesIO()
        img.save(out, "JPEG", quality=85)
        if out.tell() >= PHOTO_BYTES * 0.95:
            return out.getvalue()
        side += 20


def stamp(device: str, when) -> dict:
    return {"id": uuid.uuid4(), "created_at": when, "updated_at": when, "device_id": device}


def fill(store, inspections: int, photos: int, rng: random.Random,
         register: dict | None = None, first_serial: int = 1, written: dict | None = None) -> int:
    """Rows and their create events through Core, and photo files on disk. `register`: the
    firms and inspectors of an earlier fill to reuse (an empty dict gets this fill's);
    `written`: gets every row and event written, by table name."""
    now, dev = utcnow(), store.device_id
    with store.session() as s:
        checklist = next(iter(latest_checklists(s).values()))
        items = [i.id for i in checklist.items][:ANSWERS]
    reuse = bool(register)
    if reuse:
        firms, people = register["firms"], register["people"]
    else:
        firms = [{**stamp(dev, now), "name": f"压测企业{n:03d}", "credit_code": f"91439999SYNC{n:06d}",
                  "address": "湘乡市", "legal_representative": "张三", "representative_post": "总经理",
                  "phone": "13900000000", "has_dust": True, "has_ammonia": False,
                  "has_confined_space": False, "risk_colour": "blue"} for n in range(50)]
        people = [{**stamp(dev, now), "name": f"检查员{n}", "certificate_no": f"SYNC{n:06d}",
                   "active": True} for n in range(4)]
        if register is not None:
            register.update(firms=firms, people=people)
    rows = {"inspection": [], "team": [], "lists": [], "answer": [], "photo": []}
    base = base_jpeg(rng)
    total_bytes = 0
    for n in range(inspections):
        started = now - timedelta(days=n % 700, hours=1)
        ins = {**stamp(dev, started), "enterprise_id": firms[n % 50]["id"], "place": "车间",
               "started_at": started, "ended_at": started + timedelta(hours=2),
               "status": InspectionStatus.FINALIZED, "finalized_at": started + timedelta(hours=2),
               "case_year": 2026, "case_serial": n + first_serial, "current_item_id": None,
               "follows_inspection_id": None}
        rows["inspection"].append(ins)
        rows["team"] += [{**stamp(dev, started), "inspection_id": ins["id"],
                          "inspector_id": people[k]["id"], "position": k} for k in (0, 1)]
        rows["lists"].append({**stamp(dev, started), "inspection_id": ins["id"],
                              "checklist_id": checklist.id, "position": 0})
        answers = [{**stamp(dev, started), "inspection_id": ins["id"], "item_id": item,
                    "result": AnswerResult.COMPLIANT, "note": "", "answered_at": started}
                   for item in items]
        rows["answer"] += answers
    for n in range(photos):
        ins = rows["inspection"][n % inspections]
        n += first_serial * 10  # distinct files from an earlier fill's
        data = base + n.to_bytes(8, "big")  # bytes after the JPEG end marker: distinct files
        sha = hashlib.sha256(data).hexdigest()
        target = photo_path(store.photos_dir, sha, "jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        total_bytes += len(data)
        rows["photo"].append({**stamp(dev, ins["started_at"]), "inspection_id": ins["id"],
                              "answer_id": None, "hazard_id": None, "sha256": sha, "file_ext": "jpg",
                              "byte_size": len(data), "width": 180, "height": 180,
                              "original_name": f"IMG_{n:05d}.jpg", "caption": "", "taken_at": None,
                              "gps_lat": None, "gps_lon": None, "exif_orientation": 1,
                              "rotation": 0})
    tables = ((Enterprise, [] if reuse else firms), (Inspector, [] if reuse else people),
              (Inspection, rows["inspection"]),
              (InspectionInspector, rows["team"]), (InspectionChecklist, rows["lists"]),
              (Answer, rows["answer"]), (Photo, rows["photo"]))
    # Core, with their create events made here (models.flush_hooks refuses it otherwise).
    with store.transaction(label="bench_fill") as s, audited_by_caller(s):
        for model, table_rows in tables:
            if table_rows:
                s.execute(insert(model.__table__), table_rows)
        events = create_events(dev, tables, *chain_head(s, dev))
        s.execute(insert(AuditEvent.__table__), events)
    if written is not None:
        written.update({m.__tablename__: r for m, r in tables if r}, audit_event=events)
    return total_bytes


def create_events(device: str, tables, head: int, prev: str) -> list[dict]:
    """One chained `create` event per row after the chain's head, as the flush hook writes
    them: a real bundle carries them all, and the import checks and stores every one."""
    events = []
    for model, table_rows in tables:
        for seq, row in enumerate(table_rows, head + len(events) + 1):
            fields = {"id": uuid.uuid4(), "device_id": device, "seq": seq, "at": row["created_at"],
                      "actor": "压测", "action": "create", "label": "bench_fill",
                      "entity_type": model.__tablename__, "entity_id": str(row["id"]),
                      "before": "{}", "after": canonical_json(row)}
            digest = event_hash(prev, fields)
            events.append({**fields, "prev_hash": prev, "hash": digest,
                           "created_at": row["created_at"], "updated_at": row["created_at"]})
            prev = digest
    return events


def timed(fn):
    os.sync()  # each step starts with no dirty pages left over from the one before
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def plain_zip(photos_dir: Path, target: Path) -> None:
    """The baseline export: the photos in a stored zip, flushed to the stick like ours."""
    with open(target, "wb") as fh:
        with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
            for path in sorted(photos_dir.rglob("*.jpg")):
                zf.write(path, path.relative_to(photos_dir).as_posix())
        fh.flush()
        os.fsync(fh.fileno())


def plain_unzip(source: Path, folder: Path) -> None:
    """The baseline import: extract everything, then flush it to disk like ours."""
    with zipfile.ZipFile(source) as zf:
        zf.extractall(folder)
    os.sync()


def file_creation(folder: Path, count: int = 500) -> float:
    """Seconds this disk takes to create one empty file, now: the part of an unzip or an
    import that a zip (one file) does not pay, and what varies most on a shared machine."""
    folder.mkdir()
    start = time.perf_counter()
    for n in range(count):
        os.close(os.open(folder / f"{n}", os.O_CREAT | os.O_WRONLY, 0o644))
    return (time.perf_counter() - start) / count


def line(label: str, seconds: float, size: int, baseline: float | None = None,
         against: str = "plain zip") -> str:
    rate = size / seconds / 1024 / 1024
    ratio = f"   {baseline / seconds:5.2f}× the {against}'s throughput" if baseline else ""
    return f"  {label:<34} {seconds:7.2f} s  {rate:7.1f} MB/s{ratio}"


def load() -> str:
    """The machine's load beside the figures: the 2-core machine is shared."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def record_bytes(path: Path) -> int:
    """The records' bytes in a bundle (uncompressed JSON), files left out."""
    with zipfile.ZipFile(path) as zf:
        return sum(i.file_size for i in zf.infolist() if i.filename.startswith("records/"))


def own_record_bytes(store, written: dict) -> int:
    """What the new inspections' own rows and events take as a bundle's records."""
    with store.session() as s:
        rows = {name: fetch_in(s, Base.metadata.tables[name], Base.metadata.tables[name].c.id,
                               [r["id"] for r in table_rows])
                for name, table_rows in written.items()}
    return sum(len(data) for data in _records_entries(rows).values())


def incremental(root: Path, size: int, new: int, repeat: int) -> None:
    """Target 1: `new` inspections added to a `size`-inspection store whose every row has its
    audit event, exported to a destination that acknowledged the rest (the office, after one
    exchange: its bundle back) — against, in the same run, the self-contained export of the
    same change to a plain folder (every chain whole: what every bundle was before deltas)."""
    rng = random.Random(11)
    laptop, office = start_store(root / "inc-laptop"), start_store(root / "inc-office")
    register: dict = {}
    fill_s, _ = timed(lambda: fill(laptop, size, 0, rng, register=register))
    folder, stick = root / "inc-folder", root / "inc-stick"
    folder.mkdir()
    stick.mkdir()
    t_all, first = timed(lambda: export_bundle(laptop, folder / "all.fcb", encrypt=False))
    shutil.copy(folder / "all.fcb", stick / "all.fcb")
    t_in, _ = timed(lambda: import_bundle(office, stick / "all.fcb",
                                          trust_new_device=device_fingerprint(laptop.data_dir)))
    back = export_bundle(office, stick / "back.fcb", for_device=laptop.device_id, encrypt=False)
    import_bundle(laptop, stick / "back.fcb", trust_new_device=device_fingerprint(office.data_dir))
    print(f"incremental: {size} inspections, {first.counts.get('audit_event', 0)} audit events "
          f"(filled in {fill_s:.1f} s; first export {t_all:.1f} s, its import {t_in:.1f} s; "
          f"the office's bundle back {back.counts.get('audit_event', 0)} events) — {load()}")
    written: dict = {}
    fill(laptop, new, 0, rng, register=register, first_serial=size + 1, written=written)
    own = own_record_bytes(laptop, written)
    state = laptop.data_dir / STATE_FILE
    saved = state.read_bytes()
    times: dict[str, list[float]] = {"folder": [], "delta": []}
    for n in range(repeat):  # the same change each round: the remembered state put back
        for kind, target in (("folder", folder), ("delta", stick)):
            t, result = timed(lambda: export_bundle(laptop, target / f"{kind}{n}.fcb", encrypt=False))
            times[kind].append(t)
            state.write_bytes(saved)
            if kind == "delta":
                delta = result
            else:
                plain = result
    med = {k: statistics.median(v) for k, v in times.items()}
    delta_bytes, plain_bytes = record_bytes(delta.path), record_bytes(plain.path)
    t_imp, report = timed(lambda: import_bundle(office, delta.path))
    print(f"  {new} new inspections: their own rows and events {own / 1024:.0f} KB; median of {repeat}, "
          f"interleaved — {load()}")
    print(f"  self-contained, to a plain folder (baseline) {med['folder']:6.2f} s  "
          f"records {plain_bytes / 1024:9.0f} KB ({plain_bytes / own:6.1f}× their own)")
    print(f"  delta, for the office                        {med['delta']:6.2f} s  "
          f"records {delta_bytes / 1024:9.0f} KB ({delta_bytes / own:6.1f}× their own)   "
          f"target ≤ 0.3 s and ≤ 2×: {'met' if med['delta'] <= 0.3 and delta_bytes <= 2 * own else 'NOT met'}")
    print(f"  the delta into the office: {t_imp:.2f} s, {report.total('new')} new, "
          f"{report.total('conflict')} conflicts")
    laptop.close()
    office.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=1000)
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per step (median shown)")
    parser.add_argument("--keep", metavar="DIR", help="keep the data folders here")
    parser.add_argument("--incremental", type=int, default=20000, metavar="N",
                        help="store size for the delta export (0: skip)")
    parser.add_argument("--new", type=int, default=10, help="inspections added before the delta")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="fc-bench-sync-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        if args.incremental:
            incremental(root, args.incremental, args.new, args.repeat)
        if not args.skip_throughput:
            run(root, args.inspections, args.photos, args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, inspections: int, photos: int, repeat: int) -> None:
    laptop = start_store(root / "laptop")
    fill_s, photo_bytes = timed(lambda: fill(laptop, inspections, photos, random.Random(7)))
    print(f"filled {inspections} inspections, {photos} photos "
          f"({photo_bytes / 1024 / 1024:.0f} MB) in {fill_s:.1f} s; "
          f"median of {repeat} interleaved rounds — {load()}")
    stick = root / "stick"
    stick.mkdir()
    times: dict[str, list[float]] = {"zip": [], "export": [], "unzip": [], "import": [],
                                     "reimport": []}
    creation: list[float] = []
    at_unzip: list[float] = []            # the same probe just before the unzip / the import
    creation_at_import: list[float] = []
    for n in range(repeat):  # interleaved, so a busy moment hits both sides alike
        creation.append(file_creation(root / f"probe{n}"))
        t, _ = timed(lambda: plain_zip(laptop.photos_dir, stick / f"plain{n}.zip"))
        times["zip"].append(t)
        t, result = timed(lambda: export_bundle(laptop, stick / f"bundle{n}.fcb", everything=True))
        times["export"].append(t)
        before_unzip = file_creation(root / f"probe{n}u")
        t, _ = timed(lambda: plain_unzip(stick / f"plain{n}.zip", root / f"unzipped{n}"))
        times["unzip"].append(t)
        office = start_store(root / f"office{n}")
        creation_at_import.append(file_creation(root / f"probe{n}i"))
        at_unzip.append(before_unzip)
        # the office compared the laptop's fingerprint (#11: no bundle from an unknown device)
        trusted = device_fingerprint(laptop.data_dir)
        t, report = timed(lambda: import_bundle(office, stick / f"bundle{n}.fcb",
                                                trust_new_device=trusted))
        times["import"].append(t)
        # the same bundle again (nothing new): every byte hashed, no photo staged again
        t, _ = timed(lambda: import_bundle(office, stick / f"bundle{n}.fcb"))
        times["reimport"].append(t)
        office.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    size = result.path.stat().st_size
    print(f"bundle: {size / 1024 / 1024:.0f} MB, {sum(result.counts.values())} records, "
          f"{result.files} files; import: {report.total('new')} new, {report.total('conflict')} conflicts")
    per_file = statistics.median(creation)
    print(f"creating one file on this disk: {per_file * 1e6:.0f} µs (median; rounds "
          f"{', '.join(f'{c * 1e6:.0f}' for c in creation)} µs) — {photos} files "
          f"{per_file * photos:.2f} s of the unzip and the import, none of the zip")
    # Round by round: this VM creates a file in ~20 µs or, for minutes at a time, in ~300-600
    # µs (kernel CPU; renames stay ~25 µs). The unzip and the import create one per photo,
    # the zip one in all — which round fell in which mode shows beside its figures.
    print("  round  create µs (unzip / import)   zip s  unzip s  import s  import vs zip")
    for n in range(repeat):
        print(f"  {n + 1:>5}  {at_unzip[n] * 1e6:>9.0f} / {creation_at_import[n] * 1e6:<12.0f}"
              f"{times['zip'][n]:>8.2f} {times['unzip'][n]:>8.2f} {times['import'][n]:>9.2f}"
              f"  {times['zip'][n] / times['import'][n]:>12.2f}×")
    print(line("plain zip, ZIP_STORED (baseline)", med["zip"], photo_bytes))
    print(line("export_bundle (hashes, signed)", med["export"], size, med["zip"]))
    print(line("plain unzip, extractall (baseline)", med["unzip"], photo_bytes))
    print(line("import_bundle (verify + merge)", med["import"], size, med["zip"]))
    print(line("  (the same, against the unzip)", med["import"], size, med["unzip"], "plain unzip"))
    print(line("import_bundle again (nothing new)", med["reimport"], size, med["zip"]))
    met = med["zip"] / med["export"] >= 0.6 and med["unzip"] / med["import"] >= 0.6 \
        and med["zip"] / med["import"] >= 0.6
    print(f"  target export ≥ 0.6× zip, import ≥ 0.6× unzip and zip: {'met' if met else 'NOT met'}"
          f" — {load()}")
    laptop.close()


# ---- import growth (issue #13, point 2): the same bundle into ever larger stores ------------
GROWTH_SIZES = (0, 10_000, 100_000)
GROWTH_TARGET = 1.5  # into the largest store, at most this × the time into an empty one


def fill_inspections(store, inspections: int) -> None:
    """A target store of `inspections` finalized inspections of the bundle's case year (with
    their create events): what an office holds after some years."""
    now, dev = utcnow(), store.device_id
    firms = [{**stamp(dev, now), "name": f"存量企业{n:03d}", "credit_code": f"91439999GROW{n:06d}",
              "address": "湘乡市", "legal_representative": "李四", "representative_post": "厂长",
              "phone": "13900000001", "has_dust": False, "has_ammonia": False,
              "has_confined_space": False, "risk_colour": "blue"} for n in range(50)]
    rows = [{**stamp(dev, now), "enterprise_id": firms[n % 50]["id"], "place": "仓库",
             "started_at": now, "ended_at": now, "status": InspectionStatus.FINALIZED,
             "finalized_at": now, "case_year": 2026, "case_serial": 100_000 + n,
             "current_item_id": None, "follows_inspection_id": None} for n in range(inspections)]
    tables = ((Enterprise, firms), (Inspection, rows))
    with store.transaction(label="bench_fill") as s, audited_by_caller(s):
        for model, table_rows in tables:
            for start in range(0, len(table_rows), 20_000):
                s.execute(insert(model.__table__), table_rows[start:start + 20_000])
        s.execute(insert(AuditEvent.__table__), create_events(dev, tables, *chain_head(s, dev)))


def growth(root: Path, repeat: int) -> None:
    """Per-bundle import time of one 20-inspection bundle with photos into stores of
    GROWTH_SIZES inspections, each round on a fresh copy of the filled store, interleaved."""
    laptop = start_store(root / "growth-laptop")
    fill(laptop, 20, 60, random.Random(11))
    bundle = root / "growth.fcb"
    export_bundle(laptop, bundle, everything=True)
    trusted = device_fingerprint(laptop.data_dir)
    laptop.close()
    filled = {}
    for size in GROWTH_SIZES:
        filled[size] = root / f"growth-store-{size}"
        store = start_store(filled[size])
        fill_inspections(store, size)
        store.close()
    times: dict[int, list[float]] = {size: [] for size in GROWTH_SIZES}
    load = [os.getloadavg()[0]]
    for n in range(repeat):
        for size in GROWTH_SIZES:
            copy = root / f"growth-{size}-{n}"
            shutil.copytree(filled[size], copy)
            store = start_store(copy)
            t, report = timed(lambda: import_bundle(store, bundle, trust_new_device=trusted))
            store.close()
            shutil.rmtree(copy, ignore_errors=True)
            assert report.total("new") and not report.total("conflict")
            times[size].append(t)
        load.append(os.getloadavg()[0])
    med = {size: statistics.median(v) for size, v in times.items()}
    print(f"import growth: one bundle of 20 inspections / 60 photos, median of {repeat} "
          f"interleaved rounds; load average {min(load):.2f}–{max(load):.2f} on "
          f"{os.cpu_count()} cores")
    for size in GROWTH_SIZES:
        ratio = med[size] / med[0]
        print(f"  into {size:>7,} inspections   {med[size]:6.3f} s   {ratio:5.2f}× the empty store's"
              + ("   (baseline)" if size == 0 else ""))
    largest = GROWTH_SIZES[-1]
    verdict = "met" if med[largest] <= GROWTH_TARGET * med[0] else "NOT met"
    print(f"  target ≤ {GROWTH_TARGET}× into {largest:,} vs into empty: {verdict}")


def growth_main() -> None:
    parser = argparse.ArgumentParser(description="import time against the target store's size")
    parser.add_argument("--growth", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median shown)")
    args, _rest = parser.parse_known_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-growth-"))
    try:
        growth(root, args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)
# ---- end import growth ------------------------------------------------------------------------


if __name__ == "__main__":
    growth_main() if "--growth" in sys.argv else main()
