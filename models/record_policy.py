"""What a record may still become, and how its audit events are hashed — one policy for the
flush hook (ORM objects) and the bulk import (raw rows) alike.

Each model declares, beside its columns, a `record_policy` (a `TablePolicy`): what its
table is called, how an import merges it, and when its rows freeze. `Record` copies it into
`__table__.info`, so code that only holds a `Table` (the planner, the conflicts screen)
reads the same declaration. The questions everyone asks are answered here only:

* `is_frozen`      — is this row (as stored, or a new row under its parent) frozen?
* `change_allowed` — may this create / update / delete be made to a row in that state?
* `unsealed_fields`, `unaudited_fields` — what may still change, what is not a fact;
* `TablePolicy.office_fields` — which fields of a shared row only the office sets;
* `hashed_fields`, `event_hash` — an audit event's hash, from an object or a row;
  `event_hashes` the same for many rows at once.
"""
from __future__ import annotations

import enum
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from json.encoder import encode_basestring
from operator import itemgetter, methodcaller
from types import MappingProxyType

POLICY_KEY = "record_policy"  # the key of a table's policy in Table.info
# Bookkeeping every row carries: never a difference of content between two versions.
STAMPS = frozenset({"id", "created_at", "updated_at", "device_id"})
# Changed by every save; an import compares versions without it.
ALWAYS_UNAUDITED = frozenset({"updated_at"})
GENESIS_HASH = "0" * 64
# What an audit event's hash covers, beside the previous event's hash.
HASHED_FIELDS = ("id", "device_id", "seq", "at", "actor", "action", "label", "entity_type",
                 "entity_id", "before", "after")


class Merge(str, enum.Enum):
    """How an import merges a table's rows with the local ones."""

    ROW = "row"                  # the newer version wins (a frozen local one stays)
    CONTENT_KEYED = "content"    # its natural key holds its content: a key match is the same
    ONE_VISIT = "one_visit"      # its key under another id is another record: refused
    REGISTER = "register"        # shared register: any device updates it; a corrected key
    #                              clashing with another local record keeps the local one
    FIELD_MERGED = "field"       # once frozen, field by field after its history (hazard)
    OFFICE_OWNED = "office"      # made at the office; merged as ROW, changed only by its
    #                              creator (sync.authority: a row is its device's)
    CHAINED = "chained"          # append-only, hash-chained per device (audit events)
    LOCAL_ONLY = "local"         # never leaves this laptop


@dataclass(frozen=True)
class TablePolicy:
    label: str                                  # the table as the user knows it (Chinese)
    merge: Merge = Merge.ROW
    # The row freezes itself when this says so of its stored state (a finalized inspection).
    finalized: Callable[[Mapping], bool] | None = None
    # The parent table whose freezing freezes the row (its `<parent>_id` column).
    frozen_with: str | None = None
    grows_when_frozen: bool = False             # may gain rows under a frozen parent
    still_changes: frozenset[str] = frozenset()  # fields a frozen row still takes
    screen_state: frozenset[str] = frozenset()   # not enforcement facts: not audited
    refusal: str = ""                           # what a refused change names (该检查 …)
    shown_rank: int = 99                        # the conflicts screen lists low ranks first
    office_writes_only: bool = False            # made at the office only: the office takes
    #                                             no such row from another device (sync.authority)
    # A new row joins a parent (its `<parent>_id`) of its own device only: a document its
    # device's inspection, a signature its device's document (sync.authority).
    joins_own: str | None = None
    # Fields of a shared row that only the office sets (an inspector's 在岗, a major hazard's
    # 台账/通报): another device's signed change of one is refused, its stale or unsigned
    # copy is not taken, the office's own value is (sync.merge_plan, _office_fields).
    office_fields: frozenset[str] = frozenset()
    office_fields_label: str = ""                # what they are, in a refusal (在岗情况)


_UNDECLARED = TablePolicy(label="")


def policy(table) -> TablePolicy:
    """The declared policy of a table (a name, a Table, a model class or object)."""
    if isinstance(table, str):
        return _named_policy(table)
    info = getattr(table, "info", None)
    if info is None:
        table = getattr(table, "__table__")
        info = table.info
    found = info.get(POLICY_KEY)
    if found is None:
        raise LookupError(f"table {table.name} declares no record_policy")
    return found


@functools.cache
def _named_policy(name: str) -> TablePolicy:
    # (asked per row by an import's planner: the imports below cost more than the lookup)
    from models.base import Base
    import models.tables  # noqa: F401  (every model registered)
    return policy(Base.metadata.tables[name])


def declared(metadata) -> dict[str, TablePolicy]:
    """Every table's policy, by name (a table that declares none is a bug: see tests)."""
    return MappingProxyType({t.name: t.info[POLICY_KEY] for t in metadata.sorted_tables
                             if POLICY_KEY in t.info})


def label(table) -> str:
    found = policy(table).label
    return found or (table if isinstance(table, str) else table.name)


# --------------------------------------------------------------------------- frozen rows

def parent_column(table) -> str | None:
    parent = policy(table).frozen_with
    return None if parent is None else f"{parent}_id"


def is_frozen(table, row: Mapping, parent_frozen: Callable[[str, object], bool],
              stored: Mapping | None = None) -> bool:
    """Whether a row is frozen: by its own `stored` state (None: not stored yet), or because
    the parent `row` names is — `parent_frozen(parent_table, parent_id)` says that."""
    p = policy(table)
    if stored is not None and p.finalized is not None and p.finalized(stored):
        return True
    column = parent_column(table)
    if column is not None and row.get(column) is not None:
        return parent_frozen(p.frozen_with, row[column])
    return False


def closed_children(parent: str) -> list[str]:
    """The tables whose rows freeze with `parent` and which a frozen one no longer gains
    (an inspection's answers, photos, team …), in foreign-key order."""
    from models.base import Base
    import models.tables  # noqa: F401  (every model registered)
    return [t.name for t in Base.metadata.sorted_tables if POLICY_KEY in t.info
            and t.info[POLICY_KEY].frozen_with == parent
            and not t.info[POLICY_KEY].grows_when_frozen]


def joined_parent(table) -> str | None:
    """The parent table a new row of `table` may join only where its own device made it: an
    inspection's answers, photos, team … (frozen with it, gaining no more), or `joins_own`."""
    declared = policy(table)
    if declared.frozen_with == "inspection" and not declared.grows_when_frozen:
        return "inspection"
    return declared.joins_own


def change_allowed(table, action: str, changed, frozen: bool) -> bool:
    """May `action` (create / update / delete) change a row that `is_frozen` judged so?
    A frozen row takes only updates of its `still_changes` fields; a frozen parent gains
    rows only where the table `grows_when_frozen`."""
    if not frozen:
        return True
    p = policy(table)
    if action == "create":
        return p.grows_when_frozen
    if action == "update":
        return set(changed) <= p.still_changes
    return False


@functools.cache
def scalar_defaults(table_name: str) -> Mapping[str, object]:
    """What a new row holds where its creator set nothing: each column's scalar default
    (None where it has none). For the flush's office check and an import's planner alike."""
    from models.base import Base
    import models.tables  # noqa: F401  (every model registered)
    return MappingProxyType({
        c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None)
        for c in Base.metadata.tables[table_name].columns})


def office_only_fields(table, action: str, set_fields) -> frozenset[str] | None:
    """What of this change only the office may make (`office_writes_only`: any change of the
    row; `office_fields`: those among `set_fields` — the fields an update changes, or a new
    row sets to other than their default). None when nothing of it is the office's."""
    p = policy(table)
    if p.office_writes_only:
        return frozenset()
    touched = p.office_fields & frozenset(set_fields)
    return touched or None


def unaudited_fields(table) -> frozenset[str]:
    """Fields whose change is no change of record: not audited, not compared on import."""
    return ALWAYS_UNAUDITED | policy(table).screen_state


def unsealed_fields(table) -> frozenset[str]:
    """What may still change after finalizing: left out of a content seal."""
    p = policy(table)
    return ALWAYS_UNAUDITED | p.screen_state | p.still_changes


# --------------------------------------------------------------------------- audit hashes

def to_jsonable(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def same_as_recorded(recorded, value, id_map: Mapping | None = None) -> bool:
    """Whether an audit event's JSON value `recorded` is a row's `value`: the same text, the
    same instant (an event keeps the zone a time was made in, a row or a bundle holds it in
    UTC; one side naive compares the wall times), or — `id_map` given — an id held here
    under another (a record matched by its natural key). For every check of a row against
    the events that made it (the 交办 chain, an import's authority and office fields)."""
    if recorded == to_jsonable(value):
        return True
    try:
        if isinstance(value, datetime):
            when = datetime.fromisoformat(str(recorded))
            if (when.tzinfo is None) != (value.tzinfo is None):
                when, value = when.replace(tzinfo=None), value.replace(tzinfo=None)
            return when == value
        if isinstance(value, uuid.UUID) and id_map:
            return id_map.get(uuid.UUID(str(recorded))) == value
    except (TypeError, ValueError):
        return False
    return False


# One encoder for every call (json.dumps with options builds a new one each time), and the
# types to_jsonable leaves or converts plainly looked up by exact type: an import hashes
# every event of a bundle (19k for 1,000 inspections). Same text as to_jsonable + dumps.
_ENCODE = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_AS_IS = frozenset({str, int, float, bool, type(None)})
_PLAINLY = {uuid.UUID: str, datetime: datetime.isoformat, date: date.isoformat}


def canonical_json(data: Mapping) -> str:
    return _ENCODE({k: v if (kind := type(v)) in _AS_IS else _PLAINLY.get(kind, to_jsonable)(v)
                    for k, v in data.items()})


def hashed_fields(event) -> dict:
    """The hashed part of an audit event: an AuditEvent or a row (dict) alike."""
    if isinstance(event, Mapping):
        return {k: event[k] for k in HASHED_FIELDS}
    return {k: getattr(event, k) for k in HASHED_FIELDS}


def event_hash(prev_hash: str, event) -> str:
    """The chained hash of an event (object, row, or its hashed fields already)."""
    payload = prev_hash + canonical_json(hashed_fields(event))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# event_hashes: the canonical JSON of many events' hashed fields made column by column with
# C-level map()s — a template of the sorted keys filled with each value's JSON text, the
# very text _ENCODE writes — where every value of a column has the one plain type that
# allows it; otherwise event by event through event_hash. An import checks every event of
# a bundle (19k for 1,000 inspections) after planning, on the path to its commit.
_TEMPLATE = "{" + ",".join(f"{_ENCODE(k)}:%s" for k in sorted(HASHED_FIELDS)) + "}"
_AS_JSON = {str: lambda vs: map(encode_basestring, vs),
            int: lambda vs: map(int.__repr__, vs),
            uuid.UUID: lambda vs: map(encode_basestring, map(str, vs)),
            datetime: lambda vs: map(encode_basestring, map(datetime.isoformat, vs))}
_HEX, _UTF8 = methodcaller("hexdigest"), methodcaller("encode", "utf-8")


def event_hashes(events: list[Mapping]) -> list[str]:
    """event_hash(event["prev_hash"], event) of each row, at once."""
    columns = []
    for key in sorted(HASHED_FIELDS):
        values = list(map(itemgetter(key), events))
        kinds = set(map(type, values))
        as_json = _AS_JSON.get(next(iter(kinds))) if len(kinds) == 1 else None
        if as_json is None:  # (a None, a bool, mixed types: what the encoder decides)
            return [event_hash(e["prev_hash"], e) for e in events]
        columns.append(as_json(values))
    texts = map(_TEMPLATE.__mod__, zip(*columns))
    payloads = map(str.__add__, map(itemgetter("prev_hash"), events), texts)
    return list(map(_HEX, map(hashlib.sha256, map(_UTF8, payloads))))
