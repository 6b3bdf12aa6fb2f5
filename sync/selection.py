"""Which rows a bundle carries: the chosen inspections with everything they need.

Generic over the tables, so a table added later is carried without a change here:
  * downward — every row that hangs off a chosen inspection through foreign keys (answers,
    hazards, photos, documents, their signatures, re-inspections …);
  * upward — every row a carried row points to (enterprise, inspectors, checklist version),
    and a checklist version always with all its items;
  * an inspection reached upward (one a re-inspection follows) comes whole, with its rows;
  * the audit events of every device, whole chains, so each chain stays verifiable.

A delta (`select_delta`, for a destination known to hold each chain up to a position —
sync.destinations) carries the events after those positions and the rows they touched,
closed downward the same way (a finalized inspection arrives with every row it holds); of
the rows above, only those another store may hold under other ids (register records,
checklist versions and the items named — the importer matches them by their natural keys);
never a checklist version's other items or an inspection reached upward: the destination
holds them. Only rows touched after the positions bring their files.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict

from sqlalchemy import String, Table, UniqueConstraint, select, type_coerce
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from sync.bundle_format import encode_fetched, exported_tables, fetched_raw

ROOT = "inspection"
IMPORT_CREATED = "created"  # in an import's summary event: table → ids of the rows it created
AUDIT = "audit_event"
WHOLE_WITH_ITEMS = {"checklist": "checklist_item"}
_CHUNK = 500


def owned_tables(tables: list[Table]) -> set[str]:
    """Tables whose rows belong to an inspection (directly or through another such table)."""
    owned: set[str] = set()
    grew = True
    while grew:
        grew = False
        for t in tables:
            if t.name in owned or t.name == ROOT:
                continue
            parents = {fk.column.table.name for fk in t.foreign_keys}
            if parents & (owned | {ROOT}):
                owned.add(t.name)
                grew = True
    return owned


def as_dicts(session: Session, table: Table, statement) -> list[dict]:
    """The rows of a select of `table` as dicts (zipped with the column names: a
    RowMapping per row costs more than the query on a large export)."""
    names = table.columns.keys()
    return [dict(zip(names, row)) for row in session.execute(statement)]


def encoded_dicts(session: Session, table: Table, *order_by) -> list[dict]:
    """Every row of `table` with every value as a bundle writes it (UUIDs and times as
    text: sync.bundle_format.encode_fetched) — for an export of everything, which needs
    no Python objects of them."""
    columns = list(table.columns)
    query = select(*[type_coerce(c, String).label(c.name) if fetched_raw(c) else c
                     for c in columns]).order_by(*order_by)
    fetched = session.execute(query).all()
    if not fetched:
        return []
    dialect = session.get_bind().dialect
    values = [encode_fetched(c, dialect, list(v)) for c, v in zip(columns, zip(*fetched))]
    names = [c.name for c in columns]
    return [dict(zip(names, row)) for row in zip(*values)]


def fetch_in(session: Session, table: Table, column, values) -> list[dict]:
    values = list(values)
    rows: list[dict] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        rows.extend(as_dicts(session, table, select(table).where(column.in_(chunk))))
    return rows


def has_natural_key(table: Table) -> bool:
    """A unique key besides the id: a row another store may hold under another id."""
    return any(len(c.columns) and {col.name for col in c.columns} != {"id"}
               for c in table.constraints if isinstance(c, UniqueConstraint)) or any(
        ix.unique for ix in table.indexes) or any(c.unique for c in table.columns)


class Selection:
    """Rows chosen for a bundle, by table name and id."""

    def __init__(self, metadata) -> None:
        self.tables = [t for t in exported_tables(metadata) if t.name != AUDIT]
        self.by_name = {t.name: t for t in exported_tables(metadata)}
        self.owned = owned_tables(self.tables)
        # Rows above a delta's rows that travel with it (see the module text).
        self.matched_up = {t.name for t in self.tables
                           if t.name not in self.owned | {ROOT} and has_natural_key(t)}
        self.rows: dict[str, dict[uuid.UUID, dict]] = defaultdict(dict)

    def _down_edge(self, child: str, parent: str) -> bool:
        if WHOLE_WITH_ITEMS.get(parent) == child:
            return True
        return child in self.owned and (parent == ROOT or parent in self.owned)

    def add(self, table: str, rows: list[dict], frontier: dict | None) -> None:
        for row in rows:
            if row["id"] not in self.rows[table]:
                self.rows[table][row["id"]] = row
                if frontier is not None:
                    frontier[table].add(row["id"])

    def close_over(self, session: Session, frontier: dict[str, set], delta: bool = False) -> None:
        """Add rows down and up from `frontier` until nothing new is reached. In a delta,
        rows reached upward are only those in `matched_up`, and nothing goes down from them."""
        above: dict[str, set] = defaultdict(set)
        while any(frontier.values()) or any(above.values()):
            new: dict[str, set] = defaultdict(set)
            new_above: dict[str, set] = defaultdict(set)
            for t in self.tables:
                for fk in t.foreign_keys:
                    parent = fk.column.table.name
                    if frontier.get(parent) and self._down_edge(t.name, parent):
                        self.add(t.name, fetch_in(session, t, fk.parent, frontier[parent]), new)
            wanted: dict[str, set] = defaultdict(set)
            for name, ids in [*frontier.items(), *above.items()]:
                for fk in self.by_name[name].foreign_keys:
                    parent = fk.column.table.name
                    if delta and parent not in self.matched_up:
                        continue
                    for row_id in ids:
                        value = self.rows[name][row_id][fk.parent.name]
                        if value is not None and value not in self.rows[parent]:
                            wanted[parent].add(value)
            for parent, ids in wanted.items():
                table = self.by_name[parent]
                self.add(parent, fetch_in(session, table, table.c.id, ids),
                         new_above if delta else new)
            frontier, above = new, new_above


def changed_since(session: Session, device_id: str, after_seq: int) -> dict[str, set]:
    """Per table, the ids this device's audit chain touched after event `after_seq`
    (edits here and rows imported here alike: a laptop relays what it received — an
    import lists the records it created in its one `import` event)."""
    audit = AuditEvent.__table__
    out: dict[str, set] = defaultdict(set)
    for entity_type, entity_id, action, after in session.execute(
            select(audit.c.entity_type, audit.c.entity_id, audit.c.action, audit.c.after)
            .where(audit.c.device_id == device_id, audit.c.seq > after_seq)):
        pairs = [(entity_type, entity_id)]
        if action == "import":
            pairs = [(table, i) for table, ids in json.loads(after).get(IMPORT_CREATED, {}).items()
                     for i in ids]
        for table, row_id in pairs:
            try:
                out[table].add(uuid.UUID(row_id))
            except ValueError:
                continue
    return out


def select_rows(session: Session, metadata, inspection_ids: list[uuid.UUID] | None = None,
                changed: dict[str, set] | None = None, *, encoded: bool = False,
                early=None) -> dict[str, list[dict]]:
    """The rows of a bundle: the given inspections, else the `changed` ids per table, else
    everything; closed over as described above. For everything only: `encoded` — every
    value as the bundle writes it (encoded_dicts); `early`: (table names, a callback) —
    those tables are read first and the callback gets their rows (as in the result)
    before the rest is read (the export starts copying their files)."""
    sel = Selection(metadata)
    frontier: dict[str, set] = defaultdict(set)
    if (encoded or early) and (inspection_ids is not None or changed is not None):
        raise ValueError("encoded and early are for everything")
    if inspection_ids is not None:
        root = sel.by_name[ROOT]
        sel.add(ROOT, fetch_in(session, root, root.c.id, inspection_ids), frontier)
    elif changed is not None:
        for t in sel.tables:
            if changed.get(t.name):
                sel.add(t.name, fetch_in(session, t, t.c.id, changed[t.name]), frontier)
    else:  # everything: already closed
        first = {t.name for t in sel.tables if early and t.name in early[0]}
        for t in sorted(sel.tables, key=lambda t: t.name not in first):  # stable: FK order kept
            sel.add(t.name, encoded_dicts(session, t) if encoded else
                    as_dicts(session, t, select(t)), None)
            first.discard(t.name)
            if early and not first:
                early[1]({n: _in_order(sel.rows[n]) for n in early[0] if sel.rows.get(n)})
                early = None
        sel.rows = defaultdict(dict, {t.name: sel.rows[t.name] for t in sel.tables
                                      if t.name in sel.rows})  # in FK order, as before
    sel.close_over(session, frontier)
    audit = sel.by_name[AUDIT]
    out = {name: _in_order(rows) for name, rows in sel.rows.items() if rows}
    # A deletion alone leaves no row to carry, only its audit event: still worth a bundle.
    deleted_only = changed is not None and any(changed.get(t.name) for t in sel.tables)
    if any(out.values()) or deleted_only:
        order = (audit.c.device_id, audit.c.seq)
        out[AUDIT] = encoded_dicts(session, audit, *order) if encoded else \
            as_dicts(session, audit, select(audit).order_by(*order))
    return out


def _in_order(rows: dict[uuid.UUID, dict]) -> list[dict]:
    return [rows[k] for k in sorted(rows, key=str)]


def delta_events(session: Session, after: dict[str, int], upto: dict[str, int | None]) -> list[dict]:
    """The events of each chain in `upto` (device → last seq to carry, None: all) after the
    position `after` gives it (none: from the start), in chain order; index range scans."""
    audit = AuditEvent.__table__
    out: list[dict] = []
    for device in sorted(upto):
        query = select(audit).where(audit.c.device_id == device,
                                    audit.c.seq > after.get(device, 0))
        if upto[device] is not None:
            query = query.where(audit.c.seq <= upto[device])
        out += as_dicts(session, audit, query.order_by(audit.c.seq))
    return out


def touched_by(session: Session, events: list[dict], tables) -> dict[str, set]:
    """Per table, the ids the events name. A row an import created travels with its own
    create event (on its device's chain: carried too, or already held there); only one
    without such an event here is named through the import's list."""
    out: dict[str, set] = defaultdict(set)
    created: list[tuple[str, str]] = []
    for event in events:
        if event["action"] == "import":
            created += [(table, i) for table, ids in
                        json.loads(event["after"]).get(IMPORT_CREATED, {}).items() for i in ids]
        elif event["entity_type"] in tables:
            _add_id(out, event["entity_type"], event["entity_id"])
    if created:
        audit = AuditEvent.__table__
        ids = sorted({i for _t, i in created})
        with_create = set()
        for start in range(0, len(ids), _CHUNK):
            with_create.update(session.execute(select(audit.c.entity_id).where(
                audit.c.entity_id.in_(ids[start:start + _CHUNK]),
                audit.c.action == "create")).scalars())
        for table, row_id in created:
            if row_id not in with_create and table in tables:
                _add_id(out, table, row_id)
    return out


def _add_id(out: dict[str, set], table: str, row_id: str) -> None:
    try:
        out[table].add(uuid.UUID(row_id))
    except ValueError:
        pass


def select_delta(session: Session, metadata, events: list[dict], notes_too: bool = False
                 ) -> tuple[dict[str, list[dict]], dict[str, set]]:
    """The rows of a delta bundle carrying `events` (see the module text), and per table
    the ids touched by them — the rows whose files travel. `notes_too`: carry the events
    even when they are only import notes (a bundle asked for by name)."""
    sel = Selection(metadata)
    changed = touched_by(session, events, {t.name for t in sel.tables})
    frontier: dict[str, set] = defaultdict(set)
    for t in sel.tables:
        if changed.get(t.name):
            sel.add(t.name, fetch_in(session, t, t.c.id, changed[t.name]), frontier)
    sel.close_over(session, frontier, delta=True)
    out = {name: [rows[k] for k in sorted(rows, key=str)] for name, rows in sel.rows.items() if rows}
    # A deletion alone leaves no row to carry, only its event: still worth a bundle. Only the
    # notes of imports (each side's record of receiving the other's bundle) are not — or two
    # sides would trade them forever; they go with the next bundle that carries something.
    if out or notes_too or any(e["action"] != "import" for e in events):
        out[AUDIT] = events
    return out, changed
