"""An import finds local rows by the bundle's own keys, through their indexes: its cost
follows the bundle, never the size of the store it goes into."""
from __future__ import annotations

import re
import sqlite3

from sqlalchemy import event

from sync.export import export_bundle
from sync.merge import import_bundle

_SEARCH = re.compile(r"SEARCH (\w+) USING (?:COVERING )?INDEX (\w+) \((.*)\)")


def _selects_of_import(store, bundle) -> list[tuple[str, tuple]]:
    seen: list[tuple[str, tuple]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            seen.append((statement, tuple(parameters or ())))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        import_bundle(store, bundle)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def _index_columns(db: sqlite3.Connection, index: str) -> list[str]:
    return [row[2] for row in db.execute(f"PRAGMA index_info({index})")]


def _whole_table_reads(db: sqlite3.Connection, statement: str, params: tuple) -> list[str]:
    """Plan lines that read a whole table, or a key index by only part of its columns."""
    bad = []
    # ORDER BY … LIMIT reads one end of the range (a chain's head), not the range.
    one_end = "ORDER BY" in statement and "LIMIT" in statement
    for *_ids, detail in db.execute("EXPLAIN QUERY PLAN " + statement, params):
        if detail.startswith("SCAN ") and "CONSTANT ROW" not in detail and " SUBQUERY" not in detail:
            bad.append(detail)
        found = _SEARCH.match(detail)
        if found and not one_end:
            used = {re.split(r"[=<>]", term)[0] for term in found.group(3).split(" AND ")}
            if set(_index_columns(db, found.group(2))) - used:
                bad.append(detail)
    return bad


def test_import_reads_only_what_the_bundle_names(laptop_a, laptop_b, tmp_path):
    """Every query of an import (into a store holding the same records) searches an index
    by whole keys: no table read through, no multi-column key looked up by its first column
    (an inspection's case year alone fetched every inspection of the year)."""
    bundle = tmp_path / "a.fcb"
    export_bundle(laptop_a, bundle)
    import_bundle(laptop_b, bundle)            # now laptop B holds every record: all matched
    export_bundle(laptop_a, tmp_path / "again.fcb", everything=True)
    selects = _selects_of_import(laptop_b, tmp_path / "again.fcb")
    assert selects
    db = sqlite3.connect(laptop_b.data_dir / "fieldcheck.db")
    try:
        bad = {detail: statement.split("WHERE")[-1][:160] for statement, params in selects
               for detail in _whole_table_reads(db, statement, params)}
    finally:
        db.close()
    assert bad == {}
