"""Deciding, row by row, what an import does — without changing anything.

Rows merge by UUID. A row with a new UUID but the same natural key as a local row (an
enterprise's credit code, an inspector's certificate number, a checklist version's content
hash …: the tables' unique constraints) is the same record: its id is mapped to the local
one in every row that refers to it — except an inspection: the same case number on another
inspection is a numbering clash, and the bundle is refused. Then, for a record both sides hold:
  * same content                                → unchanged;
  * the local version is finalized              → conflict: the local one stays, the
    incoming one is kept aside (never overwritten);
  * the incoming inspection is finalized, the local one a draft → the incoming wins;
  * otherwise the newer `updated_at` wins; the losing version goes into the audit trail;
  * a field only the office sets (`TablePolicy.office_fields`) takes the office's value
    only, whatever else of the row is taken; a different value is not taken and the version
    carrying it goes into the audit trail (`_Planner._office_fields`).

Deletions travel as the deleting device's audit events (every bundle carries whole chains).
A row such an event deleted is deleted here too — unless it belongs to a finalized record,
was changed here after the deletion, or a row here still refers to it; then it stays and the
deletion is recorded as superseded. A row deleted anywhere this store knows of is not
brought back by an older bundle.
"""
from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Table, UniqueConstraint, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from models.inspection import InspectionStatus, case_label
from models.record_policy import (STAMPS, Merge, change_allowed, closed_children, is_frozen,
                                  policy, same_as_recorded, scalar_defaults, unaudited_fields)
from models.store_mode import session_is_office
from models.tables import Base
from sync.bundle_format import encode_value, exported_tables, refuse, row_key
from sync.records import Bundle

AUDIT = "audit_event"
IMPORT_LABEL = "import"  # the label of the events an import writes to this device's chain
# How each table merges (content-keyed, one visit, register, field-merged …) and when its
# rows freeze are declared beside its model: models.record_policy.
_AUDIT_STRETCH = 5000  # audit positions compared per query
_KEY_PARAMS = 500      # bound values per key lookup: well under SQLite's parameter limit
_KEY_GROUPS = 50       # OR-ed groups per key lookup: well under SQLite's expression depth
# The one line of a bundle refused for a change its sender had no right to make.
REFUSED_HINT = "该导出包含有其无权作出的改动，未导入；本机数据未改动，请把导出包交给管理员核查"


@dataclass
class RowPlan:
    table: str
    action: str                 # new / updated / unchanged / conflict / superseded / deleted
    row: dict                   # the incoming row, ids mapped
    local: dict | None = None   # the local row, when there is one
    mapped: bool = False        # matched by natural key under another UUID
    recorded_before: bool = False  # a conflict / older version already in the audit trail


@dataclass
class MergePlan:
    rows: list[RowPlan] = field(default_factory=list)
    id_map: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    mapped: list[tuple[str, str, str, str]] = field(default_factory=list)  # table, from, to, key
    foreign_events: list[dict] = field(default_factory=list)
    known_events: int = 0
    key_clashes: list[tuple[str, str, str, str]] = field(default_factory=list)  # table, id, other, key
    history: EventHistory | None = None  # the events the plan was decided on (sync.authority reads them)

    def count(self, action: str) -> int:
        n = sum(1 for p in self.rows if p.action == action)
        if action == "new":
            n += len(self.foreign_events)
        if action == "unchanged":
            n += self.known_events
        return n


class EventHistory:
    """The original (not import-echo) audit events of the records an import decides, one
    parsed history per import: the bundle's, indexed by entity on first use; those held
    here, fetched for many entities at once (the planner asks for all the rows of a table
    that need them before deciding one); each event's `after` parsed once."""

    def __init__(self, session: Session, events: list[dict]) -> None:
        self.s, self.events = session, events
        self._carried: dict[str, list[dict]] | None = None
        self._here: dict[str, list[dict]] = {}
        self._after: dict = {}

    @property
    def by_entity(self) -> dict[str, list[dict]]:
        """The bundle's original events, by entity id."""
        if self._carried is None:
            self._carried = defaultdict(list)
            for event in self.events:
                if event["label"] != IMPORT_LABEL:
                    self._carried[event["entity_id"]].append(event)
        return self._carried

    def after(self, event: dict) -> dict:
        parsed = self._after.get(event["id"])
        if parsed is None:
            parsed = self._after[event["id"]] = json.loads(event["after"])
        return parsed

    def fetch_here(self, entity_ids) -> None:
        """Fetch the events held here of all these entities (those not asked before), in
        batches of ids: one query for a table's rows, not one per row."""
        wanted = [i for i in dict.fromkeys(entity_ids) if i not in self._here]
        for entity in wanted:
            self._here[entity] = []
        for start in range(0, len(wanted), _KEY_PARAMS):
            for event in self.s.execute(_originals_of(), {"ids": wanted[start:start + _KEY_PARAMS]}):
                self._here[event.entity_id].append(dict(event._mapping))

    def here(self, entity_ids: list[str]) -> list[dict]:
        self.fetch_here(entity_ids)
        return [e for entity in entity_ids for e in self._here[entity]]

    def originals(self, entity_ids: list[str]) -> tuple[list[tuple[dict, dict]], set]:
        """The entity's original events (under any of its ids), held here and in the
        bundle, each with its `after` parsed; and the ids of those held here."""
        here = self.here(entity_ids)
        held = {e["id"] for e in here}
        carried = [e for entity in entity_ids for e in self.by_entity.get(entity, [])
                   if e["id"] not in held]
        return [(e, self.after(e)) for e in here + carried], held

    def latest_setting(self, entity_ids: list[str], key: str) -> tuple[str, object] | None:
        """(device, JSON value) of the bundle's latest create/update event setting `key`."""
        best = None
        for entity in entity_ids:
            for event in self.by_entity.get(entity, []):
                if event["action"] not in ("create", "update"):
                    continue
                after = self.after(event)
                if key in after and (best is None or (event["at"], event["seq"]) > best[0]):
                    best = ((event["at"], event["seq"]), event["device_id"], after[key])
        return None if best is None else (best[1], best[2])

    def created_by(self, entity_ids: list[str], devices: set[str]) -> bool:
        return any(e["action"] == "create" and e["device_id"] in devices
                   for entity in entity_ids for e in self.by_entity.get(entity, []))


def office_device_ids(s: Session) -> set[str] | None:
    """The office's device ids: this store's own at the office; on a laptop, as the agency's
    signed list names them (None: no agency here, devices trusted one by one)."""
    data_dir = s.info.get("data_dir")
    if session_is_office(s):
        from sync.trust import own_device_ids
        return set(own_device_ids(data_dir))
    from sync.agency import office_devices
    return office_devices(data_dir) if data_dir is not None else None


def unique_keys(table: Table) -> list[tuple[str, ...]]:
    return list(_unique_keys(table))


@functools.lru_cache(maxsize=None)
def _unique_keys(table: Table) -> tuple[tuple[str, ...], ...]:
    """(asked for every incoming row: the table's constraints are walked once)"""
    keys = {tuple(c.name for c in con.columns) for con in table.constraints
            if isinstance(con, UniqueConstraint)}
    keys |= {(c.name,) for c in table.columns if c.unique}
    keys |= {tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique}
    keys.discard(("id",))
    return tuple(sorted(keys))


class _Planner:
    def __init__(self, session: Session, bundle: Bundle) -> None:
        self.s, self.bundle = session, bundle
        self.plan = MergePlan()
        self.final_ids: dict[str, set] = defaultdict(set)
        self.incoming_final = {r["id"] for r in bundle.records.get("inspection", [])
                               if r["status"] == InspectionStatus.FINALIZED}
        self.incoming_ids = {name: {r["id"] for r in rows} for name, rows in bundle.records.items()}
        self._frozen_cache: dict = {}
        self.history = self.plan.history = EventHistory(session, bundle.records.get(AUDIT, []))
        self.sources: dict[uuid.UUID, list[str]] = defaultdict(list)  # local id → ids it came under
        self._office: tuple | None = None
        self.drafts_finalized_elsewhere: set = set()
        self.kept_keys: dict = {}  # row id → key columns whose local values are kept

    def run(self) -> MergePlan:
        self.deleted_ids = self._known_deletions()
        for table in exported_tables(Base.metadata):
            rows = self.bundle.records.get(table.name)
            if not rows:
                continue
            if table.name == AUDIT:
                self._audit(table, rows)
            else:
                self._table(table, [self._remap(table, r) for r in rows])
        self._deletions()
        self._not_in_final_version()
        return self.plan

    def _not_in_final_version(self) -> None:
        """A draft here that arrives finalized: the finalized version is the record. Rows
        added here to the draft (a photo, an answer) that it does not hold come off the
        inspection — kept in this device's chain as `delete` events holding the rows."""
        for inspection_id in self.drafts_finalized_elsewhere:
            for name in sorted(closed_children("inspection")):
                table = Base.metadata.tables[name]
                decided = {p.row["id"] for p in self.plan.rows if p.table == name}
                for local in self.s.execute(select(table).where(
                        table.c.inspection_id == inspection_id)).mappings():
                    if local["id"] not in self.final_ids[name] | decided:
                        note = {"id": local["id"], "not_in_finalized_version_of": inspection_id}
                        self.plan.rows.append(RowPlan(name, "deleted", note, dict(local)))

    # ----------------------------------------------------------------- deletions
    def _known_deletions(self) -> dict:
        """Incoming rows that a delete event known here removed: id → when."""
        incoming = {str(i) for name, ids in self.incoming_ids.items() if name != AUDIT for i in ids}
        # Only deletions the exporter did not know of: one whose event travels in this
        # bundle next to the row was seen there, and the row kept (changed since, or the
        # same record again under a natural key) — the exporter's decision stands.
        # (A delta carries only events new to this store: the exporter knew every event up
        # to the positions its manifest says it holds — where this store holds that very
        # event: the same hash there means the same chain up to it.)
        audit = Base.metadata.tables[AUDIT]
        ids = sorted(incoming)
        candidates = []  # (rare: most imports meet no deletion of what they carry)
        for start in range(0, len(ids), 500):
            candidates += self.s.execute(_deletions_of(), {"ids": ids[start:start + 500]}).all()
        if not candidates:
            return {}
        carried = {r["id"] for r in self.bundle.records.get(AUDIT, [])}
        # …but only where the bundle says why the row is still there: a change made after the
        # deletion. A row put back with SQL beside a deletion its exporter knew (a relayer's
        # undelete of another laptop's photo) has none, and the deletion applies.
        changed_at: dict[str, object] = {}
        for r in self.bundle.records.get(AUDIT, []):
            if r["action"] != "delete" and r["label"] != IMPORT_LABEL:
                changed_at[r["entity_id"]] = max(r["at"], changed_at.get(r["entity_id"], r["at"]))
        holds = {}
        for device, position in (self.bundle.manifest.get("holds") or {}).items():
            if isinstance(position, list) and len(position) == 2 and isinstance(position[0], int):
                mine = self.s.execute(select(audit.c.hash).where(
                    audit.c.device_id == device, audit.c.seq == position[0])).scalar()
                if mine is not None and mine == position[1]:
                    holds[device] = position[0]
        found = [(entity_id, at) for event_id, entity_id, at, device, seq in candidates
                 if not (event_id in carried or _held(holds, device, seq))
                 or not changed_at.get(entity_id, at) > at]
        deleted: dict[uuid.UUID, object] = {}
        for entity_id, at in found:
            key = uuid.UUID(entity_id)
            deleted[key] = max(at, deleted.get(key, at))
        return deleted

    def _deletions(self) -> None:
        tables = {t.name: t for t in exported_tables(Base.metadata) if t.name != AUDIT}
        doomed: dict[str, dict] = defaultdict(dict)
        for event in self.plan.foreign_events:
            table = tables.get(event["entity_type"])
            # An import's own delete event only echoes the original deletion, which every
            # bundle carries too: judged by the original's time, not by when it was relayed.
            if event["action"] != "delete" or table is None or event["label"] == IMPORT_LABEL:
                continue
            try:
                row_id = uuid.UUID(event["entity_id"])
            except ValueError:
                continue
            local = self.s.execute(select(table).where(table.c.id == row_id)).mappings().first()
            if local is None or row_id in self.final_ids[table.name]:
                continue  # not here, or the bundle itself carries the row
            local = dict(local)
            note = {"id": row_id, "deleted_by": event["device_id"], "deleted_at": event["at"]}
            if self._is_frozen(table, local) or local["updated_at"] > event["at"]:
                self.plan.rows.append(RowPlan(table.name, "superseded", note, local))
            else:
                doomed[table.name][row_id] = (note, local)
        gone = {(name, i) for name, rows in doomed.items() for i in rows}
        for name, rows in doomed.items():
            for row_id, (note, local) in rows.items():
                kept = self._still_referenced(tables[name], row_id, gone)
                self.plan.rows.append(RowPlan(name, "superseded" if kept else "deleted", note, local))

    def _still_referenced(self, table: Table, row_id, gone: set) -> bool:
        for other in exported_tables(Base.metadata):
            for fk in other.foreign_keys:
                if fk.column.table is not table:
                    continue
                refs = self.s.execute(select(other.c.id).where(fk.parent == row_id)).scalars()
                if any((other.name, ref) not in gone for ref in refs):
                    return True
                incoming = self.bundle.records.get(other.name, [])
                if any(r[fk.parent.name] == row_id for r in incoming):
                    return True
        return False

    def _remap(self, table: Table, row: dict) -> dict:
        out = dict(row)
        for fk in table.foreign_keys:
            value = out[fk.parent.name]
            out[fk.parent.name] = self.plan.id_map.get(value, value)
        return out

    # ----------------------------------------------------------------- audit events
    def _audit(self, table: Table, rows: list[dict]) -> None:
        """Events this store holds already (same device and position, same hash) are known;
        the same position with another hash is a fork or a forgery and refuses the bundle.
        Compared a stretch of positions per query: not one query per event (seconds for a
        large bundle), nor a whole long history in memory at once."""
        by_device: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_device[row["device_id"]].append(row)
        for device, events in by_device.items():
            events.sort(key=lambda e: e["seq"])
            if events[0]["seq"] > 1:
                self._builds_on(table, events[0])
            for start in range(0, len(events), _AUDIT_STRETCH):
                stretch = events[start:start + _AUDIT_STRETCH]
                held = {seq: (event_id, digest) for seq, event_id, digest in self.s.execute(
                    select(table.c.seq, table.c.id, table.c.hash).where(
                        table.c.device_id == device,
                        table.c.seq.between(stretch[0]["seq"], stretch[-1]["seq"])))}
                for row in stretch:
                    self._audit_one(row, held.get(row["seq"]))

    def _builds_on(self, table: Table, first: dict) -> None:
        """A delta's chain continues one held here: the event before it must be this very one."""
        seq = first["seq"] - 1
        held = self.s.execute(select(table.c.hash).where(
            table.c.device_id == first["device_id"], table.c.seq == seq)).scalar()
        if held != first["prev_hash"]:
            lacks = ("本机没有此前的第 1–{0} 条" if held is None else "与本机第 {0} 条不衔接").format(seq)
            raise refuse(f"这是增量导出包，设备 {first['device_id'][:8]} 的执法记录从第 {seq + 1} 条起，"
                         f"{lacks}", "请让导出方导出全部记录（export --all，或导出对话框选“全部”）"
                         "后导入，或先导入该设备此前的导出包；本机数据未改动")

    def _audit_one(self, row: dict, mine: tuple | None) -> None:
        if mine is None:
            self.plan.foreign_events.append(row)
        elif mine == (row["id"], row["hash"]):
            self.plan.known_events += 1
        elif mine[0] == row["id"]:
            raise refuse(f"执法记录 {row['id']} 与本机保存的不一致，导出包可能被改动")
        else:
            raise refuse(f"设备 {row['device_id']} 的执法记录第 {row['seq']} 条与本机保存的不同"
                         "（记录链分叉），导出包可能被改动")

    # ----------------------------------------------------------------- records
    def _table(self, table: Table, rows: list[dict]) -> None:
        local = {r["id"]: r for r in _fetch_by_key(self.s, table, ("id",),
                                                     [(r["id"],) for r in rows])}
        by_key = self._local_by_keys(table, rows)
        resolved = []
        known_maps = len(self.plan.id_map)
        for row in rows:
            target = self._match(table, row, local, by_key)
            if target is not None and target["id"] != row["id"]:
                self.plan.id_map[row["id"]] = target["id"]
                self.sources[target["id"]].append(str(row["id"]))
                key = ",".join(f"{k}={row[k]}" for k in self._key_of(table, row, target))
                self.plan.mapped.append((table.name, str(row["id"]), str(target["id"]), key))
            resolved.append((row, target))
            if table.name == "inspection":  # the local status, known now: no query per child row
                here = row["id"] if target is None else target["id"]
                self._frozen_cache[("inspection", here)] = (
                    target is not None and target["status"] == InspectionStatus.FINALIZED)
                if (target is not None and target["status"] != InspectionStatus.FINALIZED
                        and row["id"] in self.incoming_final):
                    self.drafts_finalized_elsewhere.add(target["id"])
        remap_again = len(self.plan.id_map) != known_maps  # a row here refers to one mapped now
        guarded = bool(policy(table).office_fields)
        if guarded or policy(table).merge is Merge.FIELD_MERGED:
            self._fetch_history(table, resolved)
        for row, target in resolved:
            final = self._remap(table, row) if remap_again else row  # (rows are remapped copies)
            for key in self.kept_keys.get(row["id"], ()):
                final[key] = target[key]
            mapped = target is not None and target["id"] != row["id"]
            if mapped:
                final = {**final, "id": target["id"]}
            self.final_ids[table.name].add(final["id"])
            self._check_references(table, final)
            decided = self._decide(table, final, target, mapped)
            if guarded:
                self.plan.rows.extend(self._office_fields(table, final, decided))
            else:  # (most tables: no call per row)
                self.plan.rows.append(decided)

    def _ids_of(self, row_id) -> list[str]:
        """A record's id here and the ids it came under (merged by a natural key)."""
        return [str(row_id), *self.sources.get(row_id, ())]

    def _fetch_history(self, table: Table, resolved: list[tuple[dict, dict | None]]) -> None:
        """The events held here of every row of the table whose decision reads them — an
        office field differing, a field-merged row differing — in one go."""
        fields, defaults = policy(table).office_fields, scalar_defaults(table.name)
        ignore = unaudited_fields(table) | STAMPS
        wanted = []
        for row, target in resolved:
            here = target["id"] if target is not None else row["id"]
            base = target if target is not None else defaults
            if any(k in row and row[k] != base.get(k) for k in fields) or (
                    target is not None and policy(table).merge is Merge.FIELD_MERGED
                    and any(row[k] != target.get(k) for k in row if k not in ignore)):
                wanted += self._ids_of(here)
        self.history.fetch_here(wanted)

    def _local_by_keys(self, table: Table, rows: list[dict]) -> dict:
        """The local rows holding one of the bundle's own keys, by (key, values): looked up
        by the whole key through its unique index, so the cost follows the bundle, not the
        store (by the first column alone an inspection's year fetched every inspection)."""
        out = {}
        for key in _unique_keys(table):
            # (in the bundle's order: sorting by repr cost more than the queries)
            wanted = list(dict.fromkeys(tuple(r[k] for k in key) for r in rows
                                        if all(r[k] is not None for k in key)))
            for local in _fetch_by_key(self.s, table, key, wanted):
                out[(key, tuple(local[k] for k in key))] = local
        return out

    def _match(self, table: Table, row: dict, local: dict, by_key: dict) -> dict | None:
        matches = {}
        arriving = self.incoming_ids.get(table.name, ())
        for key in _unique_keys(table):
            values = tuple(row[k] for k in key)
            hit = by_key.get((key, values)) if None not in values else None
            # A local record whose own version is in this bundle is taken by it (its key may
            # have changed there: a freed credit code now on another firm).
            if hit is not None and (hit["id"] == row["id"] or hit["id"] not in arriving):
                matches[hit["id"]] = hit
        if row["id"] in local:
            others = set(matches) - {row["id"]}
            if others and policy(table).merge is Merge.REGISTER:
                # A register record whose code was corrected to one another record here
                # holds: keep this store's code for it, take the rest, and say so.
                other = matches[next(iter(others))]
                key = self._key_of(table, row, other)
                self.kept_keys[row["id"]] = key
                self.plan.key_clashes.append((table.name, str(row["id"]), str(other["id"]),
                                              ",".join(f"{k}={row[k]}" for k in key)))
            elif others:
                raise refuse(self._clash_text(table, row), self._clash_hint(table))
            return local[row["id"]]
        if len(matches) > 1 or (matches and policy(table).merge is Merge.ONE_VISIT):
            raise refuse(self._clash_text(table, row), self._clash_hint(table))
        return next(iter(matches.values()), None)

    @staticmethod
    def _key_of(table: Table, row: dict, target: dict) -> list[str]:
        for key in _unique_keys(table):
            if all(row[k] == target[k] for k in key):
                return list(key)
        return []

    @staticmethod
    def _clash_hint(table: Table) -> str:
        if table.name == "inspection":
            return ("该导出包暂不能导入，本机数据未改动。两台电脑的文书编号重复了：请由管理员核对这两次检查"
                    "已出具的文书，并在每台电脑的「设置 → 本机文书起始编号」中使用不同的编号段；"
                    "由办公室登记的电脑（agency enroll）各有自己的编号段，不会重号")
        return "该导出包暂不能导入，本机数据未改动；请把导出包交给技术支持核对"

    @staticmethod
    def _clash_text(table: Table, row: dict) -> str:
        if table.name == "inspection":
            return (f"检查编号 {case_label(row.get('case_year'), row.get('case_serial'))} 与本机另一检查重复"
                    "（两台电脑使用了相同的编号段）")
        return f"{table.name} 记录 {row['id']} 与本机另一条记录的唯一编号冲突"

    def _check_references(self, table: Table, row: dict) -> None:
        for fk in table.foreign_keys:
            value, target = row[fk.parent.name], fk.column.table
            if value is None or value in self.final_ids[target.name]:
                continue
            if value in self.incoming_ids.get(target.name, ()):
                continue  # a later row of the same table (self-reference)
            if self.s.execute(select(target.c.id).where(target.c.id == value)).first() is None:
                raise refuse(f"记录引用了既不在导出包中、也不在本机的{target.name}记录 {value}")

    # ----------------------------------------------------------------- the rules
    def _is_frozen(self, table: Table, local: dict) -> bool:
        return is_frozen(table, local, self._parent_frozen, stored=local)

    def _parent_frozen(self, parent: str, parent_id) -> bool:
        """Whether the local `parent` row `parent_id` is frozen (cached: asked per child)."""
        if (parent, parent_id) not in self._frozen_cache:
            table = Base.metadata.tables[parent]
            row = self.s.execute(select(table).where(table.c.id == parent_id)).mappings().first()
            self._frozen_cache[(parent, parent_id)] = row is not None and self._is_frozen(table, row)
        return self._frozen_cache[(parent, parent_id)]

    def _inspection_frozen(self, inspection_id) -> bool:
        return self._parent_frozen("inspection", inspection_id)

    def _decide(self, table: Table, row: dict, local: dict | None, mapped: bool) -> RowPlan:
        deleted_at = self.deleted_ids.get(row["id"]) if local is None else None
        if deleted_at is not None and row["updated_at"] <= deleted_at:
            return RowPlan(table.name, "superseded", row)  # deleted since: it stays deleted
        declared = policy(table)
        if local is None:  # new here: a conflict only where the app itself would refuse it
            frozen = is_frozen(table, row, self._parent_frozen)
            allowed = change_allowed(table, "create", row, frozen)
            return RowPlan(table.name, "new" if allowed else "conflict", row)
        if mapped and declared.merge is Merge.CONTENT_KEYED:
            return RowPlan(table.name, "unchanged", row, local, mapped)
        ignore = unaudited_fields(table) | (STAMPS if mapped else frozenset())
        if row_key(row, ignore) == row_key(local, ignore):
            return RowPlan(table.name, "unchanged", row, local, mapped)
        frozen = self._is_frozen(table, local)
        if frozen:
            changed = {k for k in row if k not in ignore and row[k] != local.get(k)}
            if not change_allowed(table, "update", changed, frozen):
                inspection = row["id"] if table.name == "inspection" else row.get("inspection_id")
                if row["updated_at"] < local["updated_at"] and inspection not in self.incoming_final:
                    return RowPlan(table.name, "superseded", row, local, mapped)  # a draft's old state
                return RowPlan(table.name, "conflict", row, local, mapped)
        if declared.merge is Merge.FIELD_MERGED and frozen:
            merged = self._hazard_by_field(row, local, ignore)
            if merged is not None:
                action = "superseded" if merged == local else "updated"
                return RowPlan(table.name, action, merged if action == "updated" else row,
                               local, mapped)
        if self._incoming_wins(table, row, local):
            return RowPlan(table.name, "updated", row, local, mapped)
        return RowPlan(table.name, "superseded", row, local, mapped)

    def _hazard_by_field(self, row: dict, local: dict, ignore: frozenset) -> dict | None:
        """A hazard after the visit is changed in two places — its closing or new deadline by
        a re-inspection, its 一单四制 facts at the office — often on different laptops and
        fields. Each differing field takes the value of the latest original event that set
        it (imports' echoes aside); None when the history cannot tell (the row rule then)."""
        latest = self._field_history(self._ids_of(row["id"]))
        merged, decided = dict(local), False
        for key in row:
            if key in ignore or key in STAMPS or row[key] == local.get(key):
                continue
            if key not in latest:
                return None
            if latest[key] == encode_value(None, row[key]):
                merged[key], decided = row[key], True
            elif latest[key] != encode_value(None, local.get(key)):
                return None  # neither side holds what the history says: do not guess
            else:
                decided = True
        if not decided:
            return None
        if merged != local:
            merged["updated_at"] = max(row["updated_at"], local["updated_at"])
        return merged

    def _field_history(self, entity_ids: list[str]) -> dict:
        """Field → its JSON value in the latest create/update event (by time) of the entity
        (under any id it had: merged records), over this store's audit trail and the
        bundle's chains; imports' own events left out."""
        events = {e["id"]: e for i in entity_ids for e in self.history.by_entity.get(i, [])}
        events.update((e["id"], e) for e in self.history.here(entity_ids))
        latest: dict[str, tuple] = {}
        for event in events.values():
            if event["label"] == IMPORT_LABEL or event["action"] not in ("create", "update"):
                continue
            for key, value in self.history.after(event).items():
                if key not in latest or event["at"] > latest[key][0]:
                    latest[key] = (event["at"], value)
        return {key: value for key, (_at, value) in latest.items()}

    def _office_fields(self, table: Table, row: dict, decided: RowPlan) -> list[RowPlan]:
        """The fields of shared rows only the office sets (`TablePolicy.office_fields`: an
        inspector's 在岗, a major hazard's 台账 and 通报) take the office's value only:

        * another device's signed change of one — the latest event setting it, here and in
          the bundle, new in this bundle — refuses the bundle;
        * the office's latest change of one — here or in the bundle — is taken, even where
          this store's copy of the row is newer (a later edit of its other fields), but an
          older bundle of the office's read late brings nothing back;
        * any other difference — a copy from before the office's change, an edit with the
          sqlite3 command line — is not taken: the field keeps this store's value, the row's
          other fields merge as decided, and the bundle's version is recorded as not taken
          (superseded, 较旧版本) — at this import, so that the same bundle again finds it
          recorded and reports nothing new (a new row carrying one is refused). The office
          takes none from another device; a laptop takes a relayed value where the office's
          event set it last.
        `decided` is the row rule's decision of `row` (the bundle's row, ids mapped)."""
        fields = policy(table).office_fields
        if not fields or decided.action not in ("new", "updated", "superseded"):
            return [decided]
        office, at_office, from_office = self._office_devices()
        local = decided.local
        if office is None or decided.action == "superseded" and (local is None or not from_office):
            return [decided]  # (no agency here: nothing names the office) / nothing of it is taken
        defaults = scalar_defaults(table.name)
        base = local if local is not None else defaults
        differs = sorted(k for k in fields if k in decided.row and decided.row[k] != base.get(k))
        if not differs:
            return [decided]
        events, held = self.history.originals(self._ids_of(row["id"]))
        take = {}
        for key in differs:
            value = decided.row[key]
            latest = _latest(events, key)
            sets_it = latest is not None and same_as_recorded(latest[1], value)
            if sets_it and latest[0]["device_id"] not in office and latest[0]["id"] not in held and (
                    latest[0]["action"] == "update" or not same_as_recorded(latest[1], defaults.get(key))):
                raise refuse(f"设备 {latest[0]['device_id'][:8]} 改动了{policy(table).label}记录 "
                             f"{row['id']}（{key}），该项只能由办公室登记", REFUSED_HINT)
            # What the office said last of it, here or in the bundle (another device's events
            # and clock do not count): an older bundle of the office's, read late, says less.
            said = _latest([(e, after) for e, after in events if e["device_id"] in office], key)
            if said is not None and same_as_recorded(said[1], value) and (from_office or not at_office):
                take[key] = value
            elif local is None:
                raise refuse(f"导出包中{policy(table).label}记录 {row['id']}（{key}）的取值"
                             "没有办公室签名的记录为据（疑似伪造），该项只能由办公室登记", REFUSED_HINT)
        if local is None:
            return [decided]  # a new row: every office field it carries is the office's
        if decided.action == "superseded":  # an older row of the office's: only those fields
            return [decided] if not take else [
                RowPlan(table.name, "updated", {**local, **take}, local, decided.mapped), decided]
        kept = {k: local[k] for k in differs if k not in take}
        if not kept:
            return [decided]
        not_taken = RowPlan(table.name, "superseded", row, local, decided.mapped)
        settled = {**decided.row, **kept}  # (a new dict: the bundle's own row stays as it came)
        ignore = unaudited_fields(table) | STAMPS
        if row_key(settled, ignore) == row_key(local, ignore):
            return [not_taken]
        return [RowPlan(table.name, "updated", settled, local, decided.mapped), not_taken]

    def _office_devices(self) -> tuple[set[str] | None, bool, bool]:
        """(the office's device ids, whether this store is the office's, whether the bundle
        comes from the office) — asked once per import, on the first office field met."""
        if self._office is None:
            office = office_device_ids(self.s)
            trust = self.bundle.trust
            senders = trust.aliases(self.bundle.device_id) if trust is not None else {self.bundle.device_id}
            self._office = (office, session_is_office(self.s), bool(office and set(senders) & office))
        return self._office

    def _incoming_wins(self, table: Table, row: dict, local: dict) -> bool:
        inspection = row["id"] if table.name == "inspection" else row.get("inspection_id")
        if inspection in self.incoming_final and not self._inspection_frozen(inspection):
            return True  # the finalized inspection beats the draft here
        return row["updated_at"] > local["updated_at"]  # e.g. a hazard's life after the visit


def _latest(events, key: str) -> tuple[dict, object] | None:
    """(event, its JSON value of `key`) of the latest create/update event setting `key`."""
    best = None
    for event, after in events:
        if event["action"] in ("create", "update") and event["label"] != IMPORT_LABEL \
                and key in after and (best is None or (event["at"], event["seq"]) > (
                    best[0]["at"], best[0]["seq"])):
            best = (event, after[key])
    return best


@functools.cache
def _originals_of():
    """The original (not import-echo) events held here of the entities :ids."""
    audit = Base.metadata.tables[AUDIT]
    return select(audit).where(audit.c.entity_id.in_(bindparam("ids", expanding=True)),
                               audit.c.label != IMPORT_LABEL)


def _fetch_by_key(session: Session, table: Table, key: tuple[str, ...],
                  values: list[tuple]) -> list[dict]:
    """Rows whose `key` columns hold one of `values`, through the key's unique index: for a
    key of several columns as (a = … AND b IN (…)) OR … — SQLite scans the whole table for a
    row value (a, b) IN (VALUES …), but searches the index for each of these."""
    groups: dict[tuple, list] = defaultdict(list)
    for value in values:
        groups[value[:-1]].append(value[-1])
    names = table.columns.keys()
    batch: list[tuple[tuple, list]] = []
    rows: list[dict] = []

    def fetch() -> None:
        params = {}
        for n, (head, lasts) in enumerate(batch):
            params.update((f"h{n}_{i}", v) for i, v in enumerate(head))
            params[f"l{n}"] = lasts
        statement = _keyed_select(table, key, len(batch))
        rows.extend(dict(zip(names, row)) for row in session.execute(statement, params))

    size = 0
    for head, lasts in groups.items():
        for start in range(0, len(lasts), _KEY_PARAMS):
            part = lasts[start:start + _KEY_PARAMS]
            batch.append((head, part))
            size += len(part) + len(head)
            if size >= _KEY_PARAMS or len(batch) >= _KEY_GROUPS:
                fetch()
                batch, size = [], 0
    if batch:
        fetch()
    return rows


@functools.cache
def _deletions_of():
    """The delete events of the entities :ids (one statement, compiled once)."""
    audit = Base.metadata.tables[AUDIT]
    return select(audit.c.id, audit.c.entity_id, audit.c.at, audit.c.device_id, audit.c.seq).where(
        audit.c.action == "delete", audit.c.entity_id.in_(bindparam("ids", expanding=True)))


_KEYED: dict[tuple, object] = {}


def _keyed_select(table: Table, key: tuple[str, ...], groups: int):
    """SELECT … WHERE (a = :h0_0 AND b IN :l0) OR … for `groups` groups, made once: the
    same statement every time is compiled once (an IN of literal values was built and
    compiled anew for every query — half of the planning of a large bundle)."""
    found = _KEYED.get((table, key, groups))
    if found is None:
        *prefix, last = [table.c[k] for k in key]
        found = select(table).where(or_(*(
            and_(*(c == bindparam(f"h{n}_{i}") for i, c in enumerate(prefix)),
                 last.in_(bindparam(f"l{n}", expanding=True)))
            for n in range(groups))))
        _KEYED[(table, key, groups)] = found
    return found


def _held(holds: dict[str, int], device: str, seq: int) -> bool:
    return seq <= holds.get(device, 0)


def plan_merge(session: Session, bundle: Bundle) -> MergePlan:
    """What importing `bundle` would do; refused (BundleError) when it cannot be done."""
    return _Planner(session, bundle).run()
