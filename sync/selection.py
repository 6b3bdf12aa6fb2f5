"""Which rows a bundle carries: the chosen inspections with everything they need.

Generic over the tables, so a table added later is carried without a change here:
  * downward — every row that hangs off a chosen inspection through foreign keys (answers,
    hazards, photos, documents, their signatures, re-inspections …);
  * upward — every row a carried row points to (enterprise, inspectors, checklist version),
    and a checklist version always with all its items;
  * an inspection reached upward (one a re-inspection follows) comes whole, with its rows;
  * the audit events of every device, whole chains, so each chain stays verifiable.
"""
from __future__ import annotations

import json
import uuid
from collections import defaultdict

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from models.audit import AuditEvent
from sync.bundle_format import exported_tables

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


def fetch_in(session: Session, table: Table, column, values) -> list[dict]:
    values = list(values)
    rows: list[dict] = []
    for start in range(0, len(values), _CHUNK):
        chunk = values[start:start + _CHUNK]
        rows.extend(dict(r) for r in session.execute(select(table).where(column.in_(chunk))).mappings())
    return rows


class Selection:
    """Rows chosen for a bundle, by table name and id."""

    def __init__(self, metadata) -> None:
        self.tables = [t for t in exported_tables(metadata) if t.name != AUDIT]
        self.by_name = {t.name: t for t in exported_tables(metadata)}
        self.owned = owned_tables(self.tables)
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

    def close_over(self, session: Session, frontier: dict[str, set]) -> None:
        """Add rows down and up from `frontier` until nothing new is reached."""
        while any(frontier.values()):
            new: dict[str, set] = defaultdict(set)
            for t in self.tables:
                for fk in t.foreign_keys:
                    parent = fk.column.table.name
                    if frontier.get(parent) and self._down_edge(t.name, parent):
                        self.add(t.name, fetch_in(session, t, fk.parent, frontier[parent]), new)
            wanted: dict[str, set] = defaultdict(set)
            for name, ids in frontier.items():
                for fk in self.by_name[name].foreign_keys:
                    parent = fk.column.table.name
                    for row_id in ids:
                        value = self.rows[name][row_id][fk.parent.name]
                        if value is not None and value not in self.rows[parent]:
                            wanted[parent].add(value)
            for parent, ids in wanted.items():
                table = self.by_name[parent]
                self.add(parent, fetch_in(session, table, table.c.id, ids), new)
            frontier = new


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
                changed: dict[str, set] | None = None) -> dict[str, list[dict]]:
    """The rows of a bundle: the given inspections, else the `changed` ids per table, else
    everything; closed over as described above."""
    sel = Selection(metadata)
    frontier: dict[str, set] = defaultdict(set)
    if inspection_ids is not None:
        root = sel.by_name[ROOT]
        sel.add(ROOT, fetch_in(session, root, root.c.id, inspection_ids), frontier)
    elif changed is not None:
        for t in sel.tables:
            if changed.get(t.name):
                sel.add(t.name, fetch_in(session, t, t.c.id, changed[t.name]), frontier)
    else:  # everything: already closed
        for t in sel.tables:
            sel.add(t.name, [dict(r) for r in session.execute(select(t)).mappings()], None)
    sel.close_over(session, frontier)
    audit = sel.by_name[AUDIT]
    out = {name: [rows[k] for k in sorted(rows, key=str)] for name, rows in sel.rows.items() if rows}
    # A deletion alone leaves no row to carry, only its audit event: still worth a bundle.
    deleted_only = changed is not None and any(changed.get(t.name) for t in sel.tables)
    if any(out.values()) or deleted_only:
        out[AUDIT] = [dict(r) for r in session.execute(
            select(audit).order_by(audit.c.device_id, audit.c.seq)).mappings()]
    return out
