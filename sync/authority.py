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
  keeps this store's value — decided with the rest of the row by the planner
  (sync.merge_plan, `_office_fields`), so that what is not taken is recorded like any
  other version not taken.
"""
from __future__ import annotations

import functools
import uuid
from collections import defaultdict

from sqlalchemy.orm import Session

from models.record_policy import (POLICY_KEY, Merge, is_frozen, joined_parent, policy,
                                  same_as_recorded, unaudited_fields)
from models.inspection import HazardStatus, InspectionStatus
from models.reinspection_rules import closed_without_review
from models.seal import carried_seal_problems
from models.tables import Base
from sync.bundle_format import encode_value, refuse
from sync.merge_plan import REFUSED_HINT as _HINT
from sync.merge_plan import EventHistory, MergePlan, office_device_ids
from sync.selection import fetch_in

_NOT_CONTENT = frozenset({"id", "created_at", "updated_at"})


class _Aliases:
    def __init__(self, trust) -> None:
        self.trust, self.cache = trust, {}

    def __call__(self, device) -> set[str]:
        if device not in self.cache:
            self.cache[device] = self.trust.aliases(device)
        return self.cache[device]


def check_authority(s: Session, bundle, plan: MergePlan) -> None:
    _check_office_records(s, plan)
    _check_closings(s, bundle, plan)
    trust = bundle.trust
    if trust is None:
        return
    sender = bundle.device_id
    senders = trust.aliases(sender)
    _check_new_sealed_rows(bundle, plan, senders)
    history = plan.history or EventHistory(s, bundle.records.get("audit_event", []))
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
    """A hazard arriving closed off (销号) needs its rectified re-inspection
    (models.reinspection_rules.closed_without_review), in the bundle or here."""
    closing = {p.row["id"] for p in plan.rows
               if p.table == "hazard" and p.action in ("new", "updated")
               and p.row.get("status") == HazardStatus.CLOSED
               and (p.local or {}).get("status") != HazardStatus.CLOSED}
    if not closing:
        return
    finalized = {r["id"] for r in bundle.records.get("inspection", [])
                 if r.get("status") == InspectionStatus.FINALIZED}  # (str enums: equal to their text too)
    reviews = [(plan.id_map.get(r["hazard_id"], r["hazard_id"]),
                plan.id_map.get(r["inspection_id"], r["inspection_id"]), bool(r.get("rectified")))
               for r in bundle.records.get("hazard_review", [])]
    if missing := closed_without_review(s, closing, reviews, finalized):
        raise refuse(f"隐患 {missing[0]} 在导出包中被标为已销号，但没有认定其已整改的复查记录"
                     "（销号须经复查）", _HINT)


def _check_office_records(s: Session, plan: MergePlan) -> None:
    made = [p for p in plan.rows
            if p.action in ("new", "updated") and policy(p.table).office_writes_only]
    if not made or (office := office_device_ids(s)) is None:
        return  # (no agency here: nothing names the office)
    for p in made:
        creator = str(p.row.get("device_id"))
        if creator not in office:
            what = policy(p.table).label
            raise refuse(f"导出包中有设备 {creator[:8]} 所作的{what}记录 {p.row['id']}，"
                         f"{what}只能由办公室作出", _HINT)


def _check_relayed_content(p, owner_ids: set[str], history: EventHistory, ids: list[str],
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
        if not same_as_recorded(recorded, value, id_map) or (
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


def _check_update(p, trust, senders: set[str], history: EventHistory, ids: list[str],
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
