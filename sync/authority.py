"""Who may change what an import would change (docs/bundle-format.md, *Authority*).

The signatures (sync.trust) say which device wrote which audit event; this says which of
those changes that device was entitled to make. A bundle in which a device changes,
deletes or adds to what it does not own is refused whole, the store untouched:

* a row is owned by the device that created it (`device_id`, never changed by an import);
  one laptop is every id it signed under (restored-backup successors share its key);
* a *deletion* (a `delete` event) applies only to a row its deleting device owns;
* an *update* of a row owned by another device than the sender is taken only where the
  owner's own signed events set each changed field to the incoming value (a relay), or on
  what is shared: the register (enterprises, inspectors) and a hazard's life after the visit
  (status, deadlines, closing, 一单四制 — re-inspections and the office);
* a *new* row that names another device as its creator needs that device's create event;
  a new answer, photo, team member, checklist or hazard joins only an inspection of its own
  device;
* rows only the office makes (交办, 回避, plans, draws, tasks: `office_writes_only`) arrive at the office only as its
  own: one another device created is refused (laptops receive them in the office's bundle);
* fields of shared rows only the office sets (在岗, 台账, 通报: `office_fields`) take the
  office's value only: another device's signed change refuses the bundle, its unsigned copy
  keeps this store's value (settle_office_fields).
"""
from __future__ import annotations

import functools
import json
import uuid
from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.record_policy import (POLICY_KEY, STAMPS, Merge, is_frozen, joined_parent, policy,
                                  unaudited_fields)
from models.inspection import HazardReview, HazardStatus, Inspection, InspectionStatus
from models.seal import carried_seal_problems
from models.store_mode import session_is_office
from models.tables import Base
from sync.bundle_format import encode_value, refuse, row_key
from sync.merge_plan import IMPORT_LABEL, MergePlan
from sync.selection import fetch_in

_HINT = "该导出包含有其无权作出的改动，未导入；本机数据未改动，请把导出包交给管理员核查"
_NOT_CONTENT = frozenset({"id", "created_at", "updated_at"})


class _Aliases:
    def __init__(self, trust) -> None:
        self.trust, self.cache = trust, {}

    def __call__(self, device) -> set[str]:
        if device not in self.cache:
            self.cache[device] = self.trust.aliases(device)
        return self.cache[device]


class _History:
    """The bundle's original (not import-echo) events, by entity — indexed on first use."""

    def __init__(self, events: list[dict]) -> None:
        self.events, self._by_entity = events, None

    @property
    def by_entity(self) -> dict[str, list[dict]]:
        if self._by_entity is None:
            self._by_entity = defaultdict(list)
            for event in self.events:
                if event["label"] != IMPORT_LABEL:
                    self._by_entity[event["entity_id"]].append(event)
        return self._by_entity

    def latest_setting(self, entity_ids: list[str], key: str) -> tuple[str, object] | None:
        """(device, JSON value) of the latest create/update event setting `key`."""
        best = None
        for entity in entity_ids:
            for event in self.by_entity.get(entity, []):
                if event["action"] not in ("create", "update"):
                    continue
                after = json.loads(event["after"])
                if key in after and (best is None or (event["at"], event["seq"]) > best[0]):
                    best = ((event["at"], event["seq"]), event["device_id"], after[key])
        return None if best is None else (best[1], best[2])

    def created_by(self, entity_ids: list[str], devices: set[str]) -> bool:
        return any(e["action"] == "create" and e["device_id"] in devices
                   for entity in entity_ids for e in self.by_entity.get(entity, []))


def check_authority(s: Session, bundle, plan: MergePlan) -> None:
    office = _office_ids(s)
    _check_office_records(s, plan, office)
    if office is not None:
        settle_office_fields(s, bundle, plan, office)
    _check_closings(s, bundle, plan)
    trust = bundle.trust
    if trust is None:
        return
    sender = bundle.device_id
    senders = trust.aliases(sender)
    _check_new_sealed_rows(bundle, plan, senders)
    history = _History(bundle.records.get("audit_event", []))
    incoming_ids: dict[uuid.UUID, list[str]] = defaultdict(list)
    for source, target in plan.id_map.items():
        incoming_ids[target].append(str(source))
    parents = _Parents(s, bundle, plan)
    aliases = _Aliases(trust)
    for p in plan.rows:
        if p.action == "new" and p.row.get("device_id") in senders:
            parents.check_joined(p, senders, sender)  # the sender's own row: on its own parent?
            continue  # (the common case, kept cheap: a large import is mostly new rows)
        if p.action not in ("new", "updated", "deleted", "superseded"):
            continue
        ids = [str(p.row["id"]), *incoming_ids.get(p.row["id"], [])]
        if p.action in ("deleted", "superseded") and "deleted_by" in p.row:
            # (an unauthorized deletion is refused even where it would not apply)
            deleter, owner = p.row["deleted_by"], p.local["device_id"]
            if owner not in trust.aliases(deleter):
                raise refuse(f"设备 {deleter[:8]} 删除了设备 {owner[:8]} 的{p.table}记录 {p.row['id']}，"
                             "无权删除（只能删除本设备的草稿记录）", _HINT)
        elif p.action == "updated":
            _check_update(p, trust, senders, history, ids, sender)
        elif p.action == "new":
            owner = p.row.get("device_id")
            if owner not in senders and not history.created_by(ids, trust.aliases(owner)):
                raise refuse(f"{p.table}记录 {p.row['id']} 标为设备 {str(owner)[:8]} 所建，"
                             "但导出包中没有该设备签名的建立记录（疑似伪造）", _HINT)
            parents.check_joined(p, aliases(owner), str(owner))
            if is_frozen(p.table, p.row, parents.frozen, stored=p.row):
                _check_relayed_content(p, aliases(owner), history, ids, sender, plan.id_map)


def _check_new_sealed_rows(bundle, plan: MergePlan, senders: set[str]) -> None:
    """The sender's finalized records that are new here must be what its seals say (as the
    bundle carries them, before any id is mapped): an edit with the sqlite3 command line of a
    finalized record — a signature row stripped of its revoked certificate's fingerprint, a
    hazard softened — would otherwise be stored as the record. (A record held here already and
    arriving changed is a conflict, kept aside: the version here stays.)"""
    new = {p.row["id"] for p in plan.rows if p.action == "new"}
    if not new:
        return
    carried = {table: [r for r in rows if r["id"] in new]
               for table, rows in bundle.records.items() if table != "audit_event"}
    if problems := carried_seal_problems(bundle.records.get("audit_event", []), carried, senders):
        more = f"（另有 {len(problems) - 1} 处）" if len(problems) > 1 else ""
        raise refuse(problems[0] + more, "已定稿的记录只能以更正记录修改；" + _HINT)


def _check_closings(s: Session, bundle, plan: MergePlan) -> None:
    """销号 ends 闭环管理 only through a finalized re-inspection that found the hazard rectified
    (models.reinspection_rules.finalize_reinspection): a hazard arriving closed off without
    such a review, in the bundle or here, is refused — a bare status change, signed or made
    with the sqlite3 command line, closed a major hazard at the office."""
    closing = {p.row["id"] for p in plan.rows
               if p.table == "hazard" and p.action in ("new", "updated")
               and p.row.get("status") == HazardStatus.CLOSED
               and (p.local or {}).get("status") != HazardStatus.CLOSED}
    if not closing:
        return
    finalized = {r["id"] for r in bundle.records.get("inspection", [])
                 if r.get("status") == InspectionStatus.FINALIZED}  # (str enums: equal to their text too)
    reviewed = set()
    for r in bundle.records.get("hazard_review", []):
        hazard, inspection = plan.id_map.get(r["hazard_id"], r["hazard_id"]), \
            plan.id_map.get(r["inspection_id"], r["inspection_id"])
        if r.get("rectified") and hazard in closing:
            reviewed.add((hazard, inspection))
    reviewed_here = {h for h, i in reviewed if i in finalized}
    unknown = {i for h, i in reviewed if h not in reviewed_here}
    if unknown:  # reviews of the bundle on re-inspections finalized here
        here = _found_in(s, select(Inspection.id).where(
            Inspection.status == InspectionStatus.FINALIZED), Inspection.id, unknown)
        reviewed_here |= {h for h, i in reviewed if i in here}
    if rest := closing - reviewed_here:
        reviewed_here |= _found_in(s, select(HazardReview.hazard_id).join(
            Inspection, HazardReview.inspection_id == Inspection.id).where(
            HazardReview.rectified.is_(True), Inspection.status == InspectionStatus.FINALIZED),
            HazardReview.hazard_id, rest)
    if missing := sorted(closing - reviewed_here, key=str):
        raise refuse(f"隐患 {missing[0]} 在导出包中被标为已销号，但没有认定其已整改的复查记录"
                     "（销号须经复查）", _HINT)


def _found_in(s: Session, query, column, values) -> set:
    values, found = list(values), set()
    for start in range(0, len(values), 500):  # SQLite's parameter limit
        found.update(s.scalars(query.where(column.in_(values[start:start + 500]))))
    return found


def _office_ids(s: Session) -> set[str] | None:
    """The office's device ids: this store's own at the office; on a laptop, as the agency's
    signed list names them (None: no agency here, devices trusted one by one)."""
    data_dir = s.info.get("data_dir")
    if session_is_office(s):
        from sync.trust import own_device_ids
        return set(own_device_ids(data_dir))
    from sync.agency import office_devices
    return office_devices(data_dir) if data_dir is not None else None


def _check_office_records(s: Session, plan: MergePlan, office: set[str] | None) -> None:
    made = [p for p in plan.rows
            if p.action in ("new", "updated") and policy(p.table).office_writes_only]
    if not made or office is None:
        return  # (no agency here: nothing names the office)
    for p in made:
        creator = str(p.row.get("device_id"))
        if creator not in office:
            what = policy(p.table).label
            raise refuse(f"导出包中有设备 {creator[:8]} 所作的{what}记录 {p.row['id']}，"
                         f"{what}只能由办公室作出", _HINT)


def settle_office_fields(s: Session, bundle, plan: MergePlan, office: set[str]) -> None:
    """The fields of shared rows only the office sets (`TablePolicy.office_fields`: an
    inspector's 在岗, a major hazard's 台账 and 通报) take the office's value only:

    * another device's signed change of one — the latest event setting it, here and in the
      bundle, new in this bundle — refuses the bundle;
    * the office's latest change of one — here or in the bundle — is taken, even where this
      store's copy of the row is newer (a later edit of its other fields), but an older
      bundle of the office's read late brings nothing back;
    * any other difference — a copy from before the office's change, an edit with the sqlite3
      command line — is not taken: the field keeps this store's value and the row's other
      fields merge as before (a new row carrying one is refused). The office takes none from
      another device; a laptop takes a relayed value where the office's event set it last."""
    at_office = session_is_office(s)
    aliases = bundle.trust.aliases(bundle.device_id) if bundle.trust is not None else {bundle.device_id}
    from_office = bool(set(aliases) & office)
    history, incoming_ids = None, None
    guarded = {t.name: t.info[POLICY_KEY].office_fields for t in Base.metadata.sorted_tables
               if POLICY_KEY in t.info and t.info[POLICY_KEY].office_fields}
    for p in plan.rows:
        fields = guarded.get(p.table)
        if not fields or p.action not in ("new", "updated", "superseded"):
            continue
        if p.action == "superseded" and (p.local is None or not from_office):
            continue  # nothing of it is taken
        defaults = _defaults(p.table)
        base = p.local if p.local is not None else defaults
        differs = sorted(k for k in fields if k in p.row and p.row[k] != base.get(k))
        if not differs:
            continue
        if history is None:
            history = _History(bundle.records.get("audit_event", []))
            incoming_ids = defaultdict(list)
            for source, target in plan.id_map.items():
                incoming_ids[target].append(str(source))
        ids = [str(p.row["id"]), *incoming_ids.get(p.row["id"], [])]
        events, held = _events_of(s, history, ids)
        take = {}
        for key in differs:
            latest = _latest(events, key)
            sets_it = latest is not None and _same(latest[1], p.row[key], {})
            if sets_it and latest[0]["device_id"] not in office and latest[0]["id"] not in held and (
                    latest[0]["action"] == "update" or not _same(latest[1], defaults.get(key), {})):
                raise refuse(f"设备 {latest[0]['device_id'][:8]} 改动了{policy(p.table).label}记录 "
                             f"{p.row['id']}（{key}），该项只能由办公室登记", _HINT)
            # What the office said last of it, here or in the bundle (another device's events
            # and clock do not count): an older bundle of the office's, read late, says less.
            said = _latest([(e, after) for e, after in events if e["device_id"] in office], key)
            if said is not None and _same(said[1], p.row[key], {}) and (from_office or not at_office):
                take[key] = p.row[key]
            elif p.local is None:
                raise refuse(f"导出包中{policy(p.table).label}记录 {p.row['id']}（{key}）的取值"
                             "没有办公室签名的记录为据（疑似伪造），该项只能由办公室登记", _HINT)
        _settle(p, take, differs)


def _events_of(s: Session, history: _History, ids: list[str]) -> tuple[list, set]:
    """The original events of an entity (under any of its ids), in the bundle and held
    here, each with its `after` parsed; and the ids of those held here."""
    from models.audit import AuditEvent
    here = [dict(e) for e in s.execute(select(AuditEvent.__table__).where(
        AuditEvent.entity_id.in_(ids), AuditEvent.label != IMPORT_LABEL)).mappings()]
    held = {e["id"] for e in here}
    carried = [e for entity in ids for e in history.by_entity.get(entity, []) if e["id"] not in held]
    return [(e, json.loads(e["after"])) for e in here + carried], held


def _latest(events, key: str) -> tuple[dict, object] | None:
    """(event, its JSON value of `key`) of the latest create/update event setting `key`."""
    best = None
    for event, after in events:
        if event["action"] in ("create", "update") and event["label"] != IMPORT_LABEL \
                and key in after and (best is None or (event["at"], event["seq"]) > (
                    best[0]["at"], best[0]["seq"])):
            best = (event, after[key])
    return best


def _settle(p, take: dict, differs: list[str]) -> None:
    """Keep this store's value of the office fields not taken; take the office's."""
    if p.local is None:
        return  # a new row: every office field it carries is the office's (or refused)
    if p.action == "superseded":  # only the office's fields of it are taken
        if take:
            p.row, p.action = {**p.local, **take}, "updated"
        return
    kept = {k: p.local[k] for k in differs if k not in take}
    if kept:
        p.row = {**p.row, **kept}  # (a new dict: the bundle's own row stays as it came)
        if row_key(p.row, unaudited_fields(p.table) | STAMPS) == \
                row_key(p.local, unaudited_fields(p.table) | STAMPS):
            p.action = "unchanged"


@functools.cache
def _defaults(table: str) -> dict:
    """What a new row holds where its creator set nothing (the columns' scalar defaults)."""
    return {c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None)
            for c in Base.metadata.tables[table].columns}


def _check_relayed_content(p, owner_ids: set[str], history: _History, ids: list[str],
                           sender: str, id_map: dict) -> None:
    """A frozen row relayed new (its creator is not the sender) holds what the events say of it:
    each field as the latest signed event that set it, set by the row's own device (or, for
    what a frozen row still takes, by whoever may). A relayer's edit with the sqlite3 command
    line of another laptop's finalized hazard became the office's record."""
    declared = policy(p.table)
    if declared.merge not in (Merge.ROW, Merge.FIELD_MERGED):
        return  # the register is shared; content-keyed and chained rows check themselves
    ignore = unaudited_fields(p.table) | _NOT_CONTENT | {"device_id"} | _content_keyed_refs(p.table)
    for key, value in p.row.items():
        if key in ignore:
            continue
        latest = history.latest_setting(ids, key)
        if latest is None or latest[1] is None:
            continue  # not recorded (a default the create event left out): nothing to hold it to
        setter, recorded = latest
        if not _same(recorded, value, id_map) or (
                setter not in owner_ids and key not in declared.still_changes):
            raise refuse(f"设备 {sender[:8]} 转交的{declared.label}记录 {p.row['id']}（{key}）"
                         "与其建立设备签名的记录不符，无权修改其他设备的记录", _HINT)


@functools.cache
def _content_keyed_refs(table: str) -> frozenset[str]:
    """Columns naming a checklist item or a register entry (a firm, an inspector): each store
    holds those under its own ids (matched by content or key), so the relayer's id differs
    from the one its creator's event names."""
    return frozenset(fk.parent.name for fk in Base.metadata.tables[table].foreign_keys
                     if policy(fk.column.table.name).merge in (Merge.CONTENT_KEYED, Merge.REGISTER))


def _same(recorded, value, id_map: dict) -> bool:
    """Whether an event's JSON value is the row's: the same text, the same instant (an event
    keeps the zone the time was made in, the bundle UTC), or an id held here under another."""
    if recorded == encode_value(None, value):
        return True
    try:
        if isinstance(value, datetime):
            when = datetime.fromisoformat(str(recorded))
            if (when.tzinfo is None) != (value.tzinfo is None):
                when, value = when.replace(tzinfo=None), value.replace(tzinfo=None)
            return when == value
        if isinstance(value, uuid.UUID):
            return id_map.get(uuid.UUID(str(recorded))) == value
    except (TypeError, ValueError):
        return False
    return False


def _check_update(p, trust, senders: set[str], history: _History, ids: list[str],
                  sender: str) -> None:
    owner = p.local["device_id"]
    if not p.mapped and p.row.get("device_id") != owner:
        raise refuse(f"{p.table}记录 {p.row['id']} 的建立设备被改为 {str(p.row.get('device_id'))[:8]}"
                     "（记录归属不可更改）", _HINT)
    declared = policy(p.table)
    if owner in senders or declared.merge is Merge.REGISTER:
        return  # the register is shared
    ignore = unaudited_fields(p.table) | _NOT_CONTENT | {"device_id"}
    changed = {k for k in p.row if k not in ignore and p.row[k] != p.local.get(k)}
    if changed and changed <= declared.still_changes:
        return  # what is shared after the visit (a hazard's life: re-inspections, the office)
    owner_ids = trust.aliases(owner)
    for key in sorted(changed):
        latest = history.latest_setting(ids, key)
        if latest is None or latest[0] not in owner_ids or latest[1] != encode_value(None, p.row[key]):
            who = latest[0][:8] if latest else sender[:8]
            raise refuse(f"设备 {who} 改动了设备 {owner[:8]} 的{p.table}记录 {p.row['id']}（{key}），"
                         "无权修改其他设备的记录", _HINT)


class _Parents:
    """The parents new rows name (an inspection, a document): as stored here and as the
    bundle carries them. The ones new rows join are fetched in one go; any other on first use.
    Who made a parent is the stored row's device (an import never changes it); a parent is
    frozen when either version is (a finalized inspection, an issued document)."""

    def __init__(self, s: Session, bundle, plan: MergePlan) -> None:
        self.s, self.bundle, self.plan = s, bundle, plan
        self.joins = {t.name: joined_parent(t.name) for t in Base.metadata.sorted_tables
                      if POLICY_KEY in t.info}
        self.local: dict[str, dict] = defaultdict(dict)
        self.carried: dict[str, dict] = {}
        self.frozen_known: dict[tuple, bool] = {}
        wanted: dict[str, set] = defaultdict(set)
        for p in plan.rows:
            if p.action != "new":
                continue
            for parent in {self.joins.get(p.table), policy(p.table).frozen_with} - {None}:
                if p.row.get(f"{parent}_id") is not None:
                    wanted[parent].add(p.row[f"{parent}_id"])
        for parent, ids in wanted.items():
            self._fetch(parent, ids)

    def _fetch(self, table: str, ids) -> None:
        columns = Base.metadata.tables[table]
        found = self.local[table]
        found.update({r["id"]: r for r in fetch_in(self.s, columns, columns.c.id, ids)})
        for row_id in ids:  # not stored here: asked once (a large import's parents are new)
            found.setdefault(row_id, None)

    def versions(self, table: str, row_id) -> list[dict]:
        if table not in self.carried:
            self.carried[table] = {self.plan.id_map.get(r["id"], r["id"]): r
                                   for r in self.bundle.records.get(table, [])}
        if row_id not in self.local[table]:
            self._fetch(table, [row_id])
        return [r for r in (self.local[table][row_id], self.carried[table].get(row_id)) if r]

    def check_joined(self, p, devices: set[str], device: str) -> None:
        """A new row joins a parent of its own device only (models.record_policy.joined_parent:
        an inspection's answers and photos, its documents, a document's signatures)."""
        parent = self.joins.get(p.table)
        if parent is None or p.row.get(f"{parent}_id") is None:
            return
        found = self.versions(parent, p.row[f"{parent}_id"])
        owner = found[0]["device_id"] if found else None
        if owner is not None and owner not in devices:
            what = policy(parent).label if parent != "inspection" else "检查"
            raise refuse(f"设备 {device[:8]} 向设备 {owner[:8]} 的{what}添加了{policy(p.table).label}记录，"
                         f"无权修改其他设备的{what}", _HINT)

    def frozen(self, table: str, row_id) -> bool:
        """models.record_policy.is_frozen's `parent_frozen`."""
        key = (table, row_id)
        if key not in self.frozen_known:
            self.frozen_known[key] = any(is_frozen(table, r, self.frozen, stored=r)
                                         for r in self.versions(table, row_id))
        return self.frozen_known[key]
