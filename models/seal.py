"""Content seals: the hash of a finalized inspection's whole record set, kept in the chain.

The audit chain proves its own events; it does not prove that the rows it describes are
still what they were. So whenever an inspection is finalized or a document is issued for it,
the flush hook appends a `seal` event to the chain that lists every frozen record of the
case — the inspection, its team and checklist versions, answers, hazards, re-inspection
reviews, photos (with their SHA-256), documents (with theirs) and signatures — each as the
SHA-256 of its canonical JSON. `seal_problems` recomputes them: an edited, inserted or
deleted record, or a document file that no longer matches, is named.

What may still change after finalizing is left out of the digests: `updated_at`, the walk's
`current_item_id`, and a hazard's life after the order (re-inspection closing it, 一单四制
fields): `record_policy.unsealed_fields`. A correction is a new record and a new seal.

Records merged from a bundle may refer to register rows under this store's ids (an
enterprise matched by credit code, a checklist by content): the import events' `id_map`
lets a reference be checked under the id it had when sealed.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent, canonical_json
from models.checklist import Checklist, ChecklistItem
from models.documents import Document, Signature
from models.inspection import (Answer, Hazard, HazardReview, Inspection,
                               InspectionChecklist, InspectionInspector, Photo, case_label)
from models.paths import file_sha256
from models.record_policy import unsealed_fields
from models.registry import Enterprise

SEAL_ACTION = "seal"
SEAL_LABEL = "seal_content"
# The checklist versions an inspection was walked with are shared and content-keyed: each
# store keeps its own row of the same content (its own id, stamps and version number), so
# only their content is sealed.
_CONTENT_ONLY = {"checklist": ("code", "content_hash"),
                 "checklist_item": ("code", "position", "area", "question", "how_to_check",
                                    "legal_basis", "major", "major_clause", "rectification",
                                    "finding", "deadline_days", "seed_refs")}
_BY_INSPECTION = (InspectionInspector, InspectionChecklist, Answer, Hazard, HazardReview, Photo,
                  Document)
LABELS = {"inspection": "检查记录", "inspection_inspector": "检查人员", "inspection_checklist": "检查表",
          "answer": "检查项结果", "hazard": "隐患", "hazard_review": "复查结论", "photo": "照片",
          "document": "文书", "signature": "签名", "checklist": "检查表版本",
          "checklist_item": "检查项内容"}
_MAX_VARIANTS = 64  # id-map combinations tried per record (normally 1)


def sealed_columns(table: Table) -> list[str]:
    if table.name in _CONTENT_ONLY:
        return list(_CONTENT_ONLY[table.name])
    skip = unsealed_fields(table)  # bookkeeping, the walk's position, a hazard's later life
    return [c.name for c in table.columns if c.name not in skip]


def record_digest(table: Table, row: Mapping) -> str:
    """The one canonical hash of a record's frozen content: SHA-256 of its canonical JSON
    (sorted keys, UUIDs and enums as text, times as UTC ISO 8601)."""
    data = {name: row[name] for name in sealed_columns(table)}
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def content_hash(records: dict[str, dict[str, str]]) -> str:
    """The hash of a whole record set as `seal_records` returns it."""
    return hashlib.sha256(json.dumps(records, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def _case_rows(session: Session, inspection_id: uuid.UUID) -> dict[str, dict[str, Mapping]]:
    """Every frozen row of the case as stored now: table name → id → row."""
    out: dict[str, dict[str, Mapping]] = {}
    inspection = Inspection.__table__
    out["inspection"] = _rows(session, inspection, inspection.c.id == inspection_id)
    for model in _BY_INSPECTION:
        table = model.__table__
        out[table.name] = _rows(session, table, table.c.inspection_id == inspection_id)
    signature = Signature.__table__
    doc_ids = [uuid.UUID(i) for i in out["document"]]
    out["signature"] = _rows(session, signature, signature.c.document_id.in_(doc_ids)) if doc_ids else {}
    checklist, item = Checklist.__table__, ChecklistItem.__table__
    used = [r["checklist_id"] for r in out["inspection_checklist"].values()]
    out["checklist"] = _rows(session, checklist, checklist.c.id.in_(used)) if used else {}
    out["checklist_item"] = _rows(session, item, item.c.checklist_id.in_(used)) if used else {}
    return out


def _rows(session: Session, table: Table, where) -> dict[str, Mapping]:
    return {str(r["id"]): r for r in session.execute(select(table).where(where)).mappings()}


def seal_records(session: Session, inspection_id: uuid.UUID) -> dict[str, dict[str, str]]:
    """table name → record id → digest, for every frozen record of the case."""
    tables = _tables()
    return {name: {rid: record_digest(tables[name], row) for rid, row in rows.items()}
            for name, rows in _case_rows(session, inspection_id).items() if rows}


def seal_content(session: Session, inspection_id: uuid.UUID) -> dict:
    """What a seal event records (its `after`): the digests, and which tables it covers —
    a later version sealing more never reports an older seal's case as incomplete."""
    records = seal_records(session, inspection_id)
    return {"content_hash": content_hash(records), "tables": sorted(_tables()), "records": records}


def _tables() -> dict[str, Table]:
    return {m.__table__.name: m.__table__
            for m in (Inspection, *_BY_INSPECTION, Signature, Checklist, ChecklistItem)}


# ----------------------------------------------------------------------------- checking
def _id_maps(session: Session) -> dict[str, set[str]]:
    """local id → every id the same record had in a bundle (from the import events)."""
    reverse: dict[str, set[str]] = defaultdict(set)
    for after, in session.execute(select(AuditEvent.after).where(AuditEvent.action == "import")):
        try:
            mapping = json.loads(after).get("id_map") or {}
        except (ValueError, AttributeError):
            continue
        for theirs, ours in mapping.items():
            reverse[str(ours)].add(str(theirs))
    return reverse


class _Aliases:
    """Every id a record here had elsewhere (transitively, over relayed imports), worked out
    once per id for the whole check: at an office an id stands for one per laptop."""

    def __init__(self, reverse: dict[str, set[str]]) -> None:
        self.reverse, self.memo = reverse, {}
        self.forward: dict[str, set[str]] = defaultdict(set)  # a former id → ids here
        for new, olds in reverse.items():
            for old in olds:
                self.forward[old].add(new)

    def older(self, value) -> frozenset[str]:
        key = str(value)
        found = self.memo.get(key)
        if found is None:
            seen, todo = {key}, [key]
            while todo:
                for older in self.reverse.get(todo.pop(), ()):
                    if older not in seen:
                        seen.add(older)
                        todo.append(older)
            found = self.memo[key] = frozenset(seen - {key})
        return found

    def choices(self, value, held: set[str] | None) -> list:
        """The value itself first, then its former ids — only those the seals hold when they
        hold any (a checklist item: the seal holds the ids it was sealed under, where the
        office has hundreds to try and _MAX_VARIANTS cut the product short of the right one)."""
        older = self.older(value) if value is not None else frozenset()
        if not older:
            return [value]
        if held:
            older = (older & held) or older
        return [value, *(uuid.UUID(v) for v in sorted(older))]


def _digests(table: Table, row: Mapping, aliases: _Aliases,
             in_seals: Mapping[str, set[str]] | None = None):
    """The record's digest under every combination of its references' former ids (a
    reference to a record the seals hold: under the ids they hold, _Aliases.choices)."""
    sealed = set(sealed_columns(table))
    fk_columns = [c for c in table.columns if c.foreign_keys and c.name in sealed]
    choices = [aliases.choices(row[c.name], (in_seals or {}).get(_target(c))) for c in fk_columns]
    fk_columns = [c.name for c in fk_columns]
    for combo in itertools.islice(itertools.product(*choices), _MAX_VARIANTS):
        yield record_digest(table, {**row, **dict(zip(fk_columns, combo))})


def _target(column) -> str:
    return next(iter(column.foreign_keys)).column.table.name


def _ids_in(seals: list[dict]) -> dict[str, set[str]]:
    """table → every record id the seals name (the ids they were sealed under)."""
    held: dict[str, set[str]] = defaultdict(set)
    for seal in seals:
        for table, rows in seal["records"].items():
            held[table].update(rows)
    return held


def _covered(seals: list[dict]) -> set[str]:
    return {t for seal in seals for t in (seal.get("tables") or seal["records"])}


def _sealed_union(seals: list[dict], forward: dict[str, set[str]],
                  current: dict[str, dict[str, Mapping]]) -> dict[str, dict[str, set]]:
    """table → id here → digests sealed for it; a sealed id another store mapped (over one
    import or several relayed ones) is taken under the id it has here. (`forward`: made once
    for the whole check — made per case, it cost cases × mapped ids.)"""
    union: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for seal in seals:
        for table, rows in seal["records"].items():
            here = current.get(table, {})
            for rid, digest in rows.items():
                union[table][_local_id(rid, forward, here)].add(digest)
    return union


def _local_id(rid: str, forward: dict[str, set[str]], here: Mapping) -> str:
    if rid in here or rid not in forward:
        return rid
    seen, todo = {rid}, [rid]
    while todo:
        for new in forward.get(todo.pop(), ()):
            if new in here:
                return new
            if new not in seen:
                seen.add(new)
                todo.append(new)
    return rid


def _case_name(session: Session, rows: dict[str, dict[str, Mapping]], inspection_id: str) -> str:
    row = next(iter(rows.get("inspection", {}).values()), None)
    if row is None:
        return f"检查 {inspection_id[:8]}"
    firm = session.scalar(select(Enterprise.name).where(Enterprise.id == row["enterprise_id"]))
    number = case_label(row["case_year"], row["case_serial"])
    return f"检查 {number or inspection_id[:8]}（{firm or '未知单位'}）"


def _named(session: Session, table_name: str, rid: str, row: Mapping | None) -> str:
    """The record as a person finds it: its checklist item's code where it has one (from
    the row, or for a deleted row from the audit event that created it), else its id."""
    label = f"{LABELS[table_name]} {rid[:8]}"
    item_id = row.get("item_id") if row is not None else None
    if item_id is None and table_name in ("answer", "hazard"):
        created = session.scalar(select(AuditEvent.after).where(
            AuditEvent.entity_id == rid, AuditEvent.action == "create").limit(1))
        try:
            item_id = uuid.UUID(json.loads(created)["item_id"]) if created else None
        except (ValueError, KeyError, TypeError):
            item_id = None
    code = session.scalar(select(ChecklistItem.code).where(ChecklistItem.id == item_id)) \
        if item_id is not None else None
    return f"{label}（{code}）" if code else label


def _compare(session: Session, inspection_id: str, seals: list[dict],
             aliases: _Aliases) -> list[str]:
    tables = _tables()
    current = _case_rows(session, uuid.UUID(inspection_id))
    sealed = _sealed_union(seals, aliases.forward, current)
    name = _case_name(session, current, inspection_id)
    problems = []
    covered = _covered(seals)
    in_seals = _ids_in(seals)
    for table_name, table in tables.items():
        if table_name not in covered:
            continue
        held, now = sealed.get(table_name, {}), current.get(table_name, {})
        for rid, row in now.items():
            if rid not in held:
                problems.append(f"{name}：定稿后新增了{_named(session, table_name, rid, row)}，"
                                "没有对应的封存记录")
            elif held[rid].isdisjoint(_digests(table, row, aliases, in_seals)):
                problems.append(f"{name}：{_named(session, table_name, rid, row)} 在定稿后被改动")
        problems += [f"{name}：{_named(session, table_name, rid, None)} 在定稿后被删除"
                     for rid in held if rid not in now]
    return problems


def _file_problems(data_dir: Path, session: Session, inspection_ids: list[str],
                   each_file: Callable[[], None] | None = None,
                   verified: set[str] | None = None) -> list[str]:
    """Issued PDFs and evidence photos of sealed cases whose file is gone or differs
    (`each_file()` before each is read: what it raises ends the check); `verified` gets
    the path of each photo file found to hold its recorded bytes."""
    from models.photo_store import photo_path
    problems = []
    ids = [uuid.UUID(i) for i in inspection_ids]
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for doc in session.scalars(select(Document).where(Document.inspection_id.in_(chunk))):
            if each_file is not None:
                each_file()
            problem = _file_problem(Path(data_dir) / doc.file_name, doc.sha256)
            if problem:
                problems.append(f"文书 {doc.number} 的文件 {doc.file_name} {problem}")
        for photo in session.scalars(select(Photo).where(Photo.inspection_id.in_(chunk))):
            if each_file is not None:
                each_file()
            path = photo_path(Path(data_dir) / "photos", photo.sha256, photo.file_ext)
            problem = _file_problem(path, photo.sha256)
            if problem:
                problems.append(f"照片 {photo.original_name or photo.sha256[:12]} 的文件 {problem}")
            elif verified is not None:
                verified.add(str(path))
    return problems


def _file_problem(path: Path, sha256: str) -> str:
    try:
        digest = file_sha256(path)  # never waits on a pipe put in a file's place
    except OSError:
        return "缺失或无法读取"
    return "" if digest == sha256 else "与记录时不同（被改动或替换）"


def _finalized_without_record(session: Session) -> list[str]:
    """Finalized inspections no audit event ever finalized: a status set beside the app."""
    audit = AuditEvent.__table__
    finalized_in_chain = set(session.scalars(select(audit.c.entity_id).where(
        audit.c.entity_type == Inspection.__tablename__, audit.c.action.in_(("create", "update")),
        audit.c.after.like('%"status":"finalized"%'))))
    table = Inspection.__table__
    rows = session.execute(select(table.c.id, table.c.case_year, table.c.case_serial).where(
        table.c.status == "finalized")).all()
    return [f"检查 {case_label(year, serial) or str(i)[:8]} 标为已定稿，但执法记录中没有定稿操作"
            for i, year, serial in rows if str(i) not in finalized_in_chain]


def _parsed_seal(after) -> dict | None:
    """A seal event's content, its records a table → {id: digest} mapping (None: unreadable)."""
    try:
        seal = json.loads(after)
        records = seal["records"]
        if all(isinstance(rows, dict) for rows in records.values()):
            return seal
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _unreadable(entity_id) -> str:
    return f"检查 {str(entity_id)[:8]} 的封存记录无法读取"


def carried_seal_problems(events: list[dict], records: dict[str, list[dict]],
                          devices: set[str]) -> list[str]:
    """A bundle's own cases against their seals, before anything is stored: each record the
    bundle carries that a seal of `devices` (its sender) names must still have the digest
    sealed for it. A clerk's sqlite3 edit of a finalized record on the laptop (a document's
    signature rows stripped of the revoked certificate's fingerprint, a hazard softened) is
    caught here, not later by `status` at the office. Rows of other devices' cases are held to
    those devices' signed events instead (sync.authority), under ids this check cannot map."""
    sealed: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    problems = []
    for event in events:
        if event["action"] != SEAL_ACTION or event["device_id"] not in devices:
            continue
        seal = _parsed_seal(event["after"])
        if seal is None:
            problems.append(_unreadable(event["entity_id"]))
            continue
        for table, rows in seal["records"].items():
            for rid, digest in rows.items():
                sealed[table][rid].add(digest)
    tables = _tables()
    for name, held in sealed.items():
        if name not in tables or name in _CONTENT_ONLY:
            continue  # checklist versions are matched by their content on arrival
        for row in records.get(name, []):
            digests = held.get(str(row["id"]))
            if digests and record_digest(tables[name], row) not in digests:
                problems.append(f"{LABELS.get(name, name)} {row['id']} 在定稿后被改动（与其封存不符）")
    return problems


def seal_problems(session: Session, data_dir: Path | None,
                  each_file: Callable[[], None] | None = None,
                  verified: set[str] | None = None) -> list[str]:
    """Every sealed record that was edited, inserted or deleted since, every issued
    document whose file on disk no longer matches its recorded SHA-256, and every
    inspection marked finalized without the chain ever recording it. `each_file()` is
    called before each file is read (models.integrity); `verified` gets the path of each
    photo file read and found intact (status --files reads it only once)."""
    seals: dict[str, list[dict]] = defaultdict(list)
    broken = []
    for entity_id, after in session.execute(
            select(AuditEvent.entity_id, AuditEvent.after).where(AuditEvent.action == SEAL_ACTION)):
        seal = _parsed_seal(after)
        if seal is None:
            broken.append(_unreadable(entity_id))
        else:
            seals[entity_id].append(seal)
    problems = broken + _finalized_without_record(session)
    if not seals:
        return problems
    aliases = _Aliases(_id_maps(session))
    for inspection_id in sorted(seals):
        problems += _compare(session, inspection_id, seals[inspection_id], aliases)
    if data_dir is not None:
        problems += _file_problems(data_dir, session, sorted(seals), each_file, verified)
    return problems
