"""The audit-chain check of `status` (models.audit.verify_chain) over an office's events.

An office holds every laptop's chain: millions of events (each record's create event and
its edits). Fills a temporary store with N inspections and the create event of each row
(bench_sync's fill: 14 events an inspection), then times in the same run, interleaved:

  1. verify_chain: the hashed columns as rows, hashed a batch at a time
     (record_policy.event_hashes, as the import checks a bundle's events);
  2. baseline: the loop as it was — an AuditEvent object and an event_hash per event.

A benchmark prints; it never fails.

    .venv/bin/python bench/bench_chain_check.py                    # 10,000 inspections, 140k events
    .venv/bin/python bench/bench_chain_check.py --inspections 2000
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
from pathlib import Path

os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import select  # noqa: E402

from bench_sync import fill  # noqa: E402
from models.audit import GENESIS_HASH, AuditEvent, event_hash, verify_chain  # noqa: E402
from models.startup import start_store  # noqa: E402


def baseline(session) -> tuple[int, int]:
    """verify_chain as it was: (events, problems)."""
    events = problems = 0
    expected_seq, prev_hash, device = 0, GENESIS_HASH, None
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.device_id, AuditEvent.seq))
    for ev in rows.yield_per(2000):
        if ev.device_id != device:
            device, expected_seq, prev_hash = ev.device_id, 0, GENESIS_HASH
        expected_seq += 1
        events += 1
        if ev.seq != expected_seq:
            problems += 1
            expected_seq = ev.seq
        problems += ev.prev_hash != prev_hash
        problems += event_hash(ev.prev_hash, ev) != ev.hash
        prev_hash = ev.hash
    return events, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-chain-"))
    try:
        store = start_store(root / "data")
        fill(store, args.inspections, 0, random.Random(1))
        new, old = [], []
        for _ in range(args.rounds):
            with store.session() as s:
                start = time.perf_counter()
                report = verify_chain(s)
                new.append(time.perf_counter() - start)
            with store.session() as s:
                start = time.perf_counter()
                events, problems = baseline(s)
                old.append(time.perf_counter() - start)
        load = os.getloadavg()[0]
        n, o = statistics.median(new), statistics.median(old)
        print(f"{report.events} events of {args.inspections} inspections ({os.cpu_count()} cores, "
              f"load {load:.1f}), median of {args.rounds} interleaved rounds:")
        print(f"  verify_chain: {n:.2f} s ({n / report.events * 1e6:.0f} µs an event, "
              f"{len(report.problems)} problems)")
        print(f"  baseline, an AuditEvent and an event_hash each: {o:.2f} s "
              f"({o / events * 1e6:.0f} µs an event, {problems} problems) — {o / n:.1f}× the time")
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
