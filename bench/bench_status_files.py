"""`status --files` (models.integrity.check_integrity with the photos folder) over sealed cases.

Plain `status` already reads and hashes every photo of a sealed case (models.seal: an
evidence file replaced on disk is named); `--files` then reads every photo the records
name. Fills a temporary store with N finalized inspections and P photo files of ~100 KB
(bench_sync's fill), a seal per inspection (models.seal.seal_content), then times in the
same run, interleaved, with the files in the page cache for both:

  1. check_integrity(photos_dir): a photo the seals' check found intact is not read again;
  2. baseline: the same check as it was — the seals' check and then every photo again.

At an office (~250,000 photos of camera size, far beyond the page cache) each pass reads
every photo from disk, so the time saved there is a whole pass's reading. A benchmark
prints; it never fails.

    .venv/bin/python bench/bench_status_files.py                    # 500 inspections, 10,000 photos
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select  # noqa: E402

from bench_sync import fill  # noqa: E402
from models.audit import GENESIS_HASH, AuditEvent, canonical_json, event_hash, verify_chain  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.flush_hooks import audited_by_caller  # noqa: E402
from models.inspection import Inspection  # noqa: E402
from models.integrity import chain_cut_problems, check_integrity  # noqa: E402
from models.photo_store import check_photo_files, check_signature_images  # noqa: E402
from models.seal import SEAL_ACTION, seal_content, seal_problems  # noqa: E402
from models.startup import start_store  # noqa: E402


def seal_all(store) -> None:
    """A seal event per inspection, chained on a device of its own (the chain intact)."""
    now, events, prev = utcnow(), [], GENESIS_HASH
    with store.session() as s:
        for seq, case in enumerate(s.scalars(select(Inspection.id)).all(), 1):
            event = dict(id=uuid.uuid4(), device_id="bench-seals", seq=seq, at=now, actor="压测",
                         action=SEAL_ACTION, label="seal_content", entity_type="inspection",
                         entity_id=str(case), before="{}",
                         after=canonical_json(seal_content(s, case)), prev_hash=prev,
                         created_at=now, updated_at=now)
            event["hash"] = prev = event_hash(prev, event)
            events.append(event)
    with store.transaction(label="bench_seals") as s, audited_by_caller(s):
        s.execute(insert(AuditEvent.__table__), events)


def baseline(session, data_dir: Path, photos_dir: Path) -> tuple[int, int]:
    """check_integrity(photos_dir) as it was: (problems, photos checked)."""
    chain = verify_chain(session)
    problems = chain.problems + chain_cut_problems(session, data_dir)
    photos = check_photo_files(session, photos_dir)
    check_signature_images(session, data_dir)
    return len(problems) + len(photos.problems), photos.checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=500)
    parser.add_argument("--photos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-files-"))
    try:
        store = start_store(root / "data")
        megabytes = fill(store, args.inspections, args.photos, random.Random(1)) / 1e6
        seal_all(store)
        with store.session() as s:  # both start with the files in the page cache
            check_photo_files(s, store.photos_dir)
        new, old, again, skipped = [], [], [], []
        for _ in range(args.rounds):
            with store.session() as s:  # the files' pass alone, after the seals' check
                verified: set[str] = set()
                seal_problems(s, store.data_dir, verified)
                start = time.perf_counter()
                check_photo_files(s, store.photos_dir, verified)
                skipped.append(time.perf_counter() - start)
                start = time.perf_counter()
                check_photo_files(s, store.photos_dir)
                again.append(time.perf_counter() - start)
            with store.session() as s:
                start = time.perf_counter()
                report = check_integrity(s, store.data_dir, store.photos_dir)
                new.append(time.perf_counter() - start)
            with store.session() as s:
                start = time.perf_counter()
                problems, checked = baseline(s, store.data_dir, store.photos_dir)
                old.append(time.perf_counter() - start)
        n, o = statistics.median(new), statistics.median(old)
        found = len(report.chain_problems) + len(report.photo_files.problems)
        print(f"{args.inspections} sealed inspections, {args.photos} photos ({megabytes:.0f} MB; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}), median of {args.rounds} "
              "interleaved rounds:")
        print(f"  check_integrity with the files: {n:.2f} s ({report.photo_files.checked} photos, "
              f"{found} problems)")
        print(f"  baseline, every photo read by the seals' check and again: {o:.2f} s "
              f"({checked} photos, {problems} problems) — {o / n:.2f}× the time")
        print(f"  of which the files' pass after the seals' check: {statistics.median(skipped):.2f} s "
              f"({len(verified)} photos read already), against {statistics.median(again):.2f} s "
              "reading every photo again")
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
