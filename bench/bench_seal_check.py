"""The content-seal check of `status` at an office that has merged many laptops' cases.

Every laptop keeps its checklists (and often its register) under its own ids, so at the
office each checklist item stands for one id per laptop, recorded in the import events'
`id_map`; a laptop sealed its answers under its own item ids. Fills a temporary store with
N finalized inspections (bench_sync's rows), a seal per inspection as laptop `n % L` would
have made it, and L import events each mapping that laptop's ids of the checklist items
and `--mapped` other ids (its register), then times in the same run:

  1. models.seal.seal_problems (without the files): the ids tried are those the seals
     hold, the alias maps made once for the whole check;
  2. baseline: the check as it was — every former id of a reference tried in a product
     cut at 64 variants (the sealed id past them: a false 「在定稿后被改动」), and the
     map from former ids to ids here rebuilt for every case (cases × mapped ids).

A benchmark prints; it never fails.

    .venv/bin/python bench/bench_seal_check.py                         # 300 inspections, 200 laptops
    .venv/bin/python bench/bench_seal_check.py --inspections 2000 --laptops 200
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("FIELDCHECK_KEY_PASSPHRASE", "bench-passphrase")
os.environ.setdefault("FIELDCHECK_NO_KEYRING", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert, select  # noqa: E402

from bench_sync import fill  # noqa: E402
from models import seal as S  # noqa: E402
from models.audit import AuditEvent  # noqa: E402
from models.base import utcnow  # noqa: E402
from models.flush_hooks import audited_by_caller  # noqa: E402
from models.inspection import Answer, Inspection  # noqa: E402
from models.startup import start_store  # noqa: E402


def _event(seq: int, action: str, entity: str, after: dict, now) -> dict:
    return dict(id=uuid.uuid4(), device_id="bench-seals", seq=seq, at=now, actor="压测",
                action=action, label=action, entity_type="inspection", entity_id=entity,
                before="{}", after=json.dumps(after), prev_hash="0", hash="0",
                created_at=now, updated_at=now)


def build(store, inspections: int, laptops: int, mapped: int) -> None:
    fill(store, inspections, 0, random.Random(1))
    with store.session() as s:
        items = sorted(s.scalars(select(Answer.item_id).distinct()), key=str)
        cases = list(s.scalars(select(Inspection.id)))
    alias = {(k, i): uuid.uuid4() for k in range(laptops) for i in items}  # laptop k's id
    tables, now, events, seq = S._tables(), utcnow(), [], 0
    with store.session() as s:
        for n, case in enumerate(cases):
            k, records = n % laptops, {}
            for name, rows in S._case_rows(s, case).items():
                if not rows:
                    continue
                out = {}
                for rid, row in rows.items():
                    row = dict(row)
                    if name == "answer":
                        row["item_id"] = alias[(k, row["item_id"])]
                    key = (k, uuid.UUID(rid))
                    out[str(alias[key]) if name == "checklist_item" and key in alias else rid] = \
                        S.record_digest(tables[name], row)
                records[name] = out
            seq += 1
            events.append(_event(seq, S.SEAL_ACTION, str(case), {
                "content_hash": S.content_hash(records), "tables": sorted(tables),
                "records": records}, now))
    for k in range(laptops):
        id_map = {str(alias[(k, i)]): str(i) for i in items}
        id_map.update({str(uuid.uuid4()): str(uuid.UUID(int=j + 1)) for j in range(mapped)})
        seq += 1
        events.append(_event(seq, "import", str(uuid.uuid4()), {"id_map": id_map}, now))
    with store.transaction(label="bench_seals") as s, audited_by_caller(s):
        s.execute(insert(AuditEvent.__table__), events)


# ------------------------------------------------------------ baseline: the check as it was
def _old_aliases(value, reverse):
    if value is None or not reverse:
        return [value]
    seen, todo = {str(value)}, [str(value)]
    while todo:
        for older in reverse.get(todo.pop(), ()):
            if older not in seen:
                seen.add(older)
                todo.append(older)
    return [value, *(uuid.UUID(v) for v in sorted(seen - {str(value)}))]


def _old_digests(table, row, reverse):
    sealed = set(S.sealed_columns(table))
    fk_columns = [c.name for c in table.columns if c.foreign_keys and c.name in sealed]
    choices = [_old_aliases(row[name], reverse) for name in fk_columns]
    for combo in itertools.islice(itertools.product(*choices), S._MAX_VARIANTS):
        yield S.record_digest(table, {**row, **dict(zip(fk_columns, combo))})


def _old_compare(session, inspection_id, seals, reverse):
    current = S._case_rows(session, uuid.UUID(inspection_id))
    forward = defaultdict(set)  # rebuilt per case, as it was
    for new, olds in reverse.items():
        for old in olds:
            forward[old].add(new)
    sealed = S._sealed_union(seals, forward, current)
    name = S._case_name(session, current, inspection_id)
    problems, covered = [], S._covered(seals)
    for table_name, table in S._tables().items():
        if table_name not in covered:
            continue
        held, now = sealed.get(table_name, {}), current.get(table_name, {})
        for rid, row in now.items():
            if rid not in held:
                problems.append(f"{name}：新增 {rid}")
            elif held[rid].isdisjoint(_old_digests(table, row, reverse)):
                problems.append(f"{name}：{S._named(session, table_name, rid, row)} 在定稿后被改动")
        problems += [f"{name}：删除 {rid}" for rid in held if rid not in now]
    return problems


def old_seal_problems(session) -> list[str]:
    seals = defaultdict(list)
    for entity_id, after in session.execute(select(AuditEvent.entity_id, AuditEvent.after)
                                            .where(AuditEvent.action == S.SEAL_ACTION)):
        seals[entity_id].append(S._parsed_seal(after))
    problems = S._finalized_without_record(session)
    reverse = S._id_maps(session)
    for inspection_id in sorted(seals):
        problems += _old_compare(session, inspection_id, seals[inspection_id], reverse)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=300)
    parser.add_argument("--laptops", type=int, default=200)
    parser.add_argument("--mapped", type=int, default=250,
                        help="other ids each laptop's import mapped (its register)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fc-bench-seal-"))
    try:
        store = start_store(root / "data")
        build(store, args.inspections, args.laptops, args.mapped)
        print(f"{args.inspections} sealed inspections (10 answers each), sealed on {args.laptops} "
              f"laptops, each laptop's import mapping {args.mapped} more ids; "
              f"{os.cpu_count()} cores:")
        with store.session() as s:
            start = time.perf_counter()
            found = S.seal_problems(s, None)
            took = time.perf_counter() - start
        print(f"  seal_problems: {took:.2f} s, {len(found)} problems "
              f"(load {os.getloadavg()[0]:.1f})")
        if not args.no_baseline:
            with store.session() as s:
                start = time.perf_counter()
                old = old_seal_problems(s)
                old_took = time.perf_counter() - start
            print(f"  baseline, every former id in a product cut at {S._MAX_VARIANTS} and the "
                  f"map rebuilt per case: {old_took:.2f} s, {len(old)} problems "
                  f"(false alarms; load {os.getloadavg()[0]:.1f}) — {old_took / took:.0f}× the time")
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
