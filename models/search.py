"""Chinese search over enterprise names, addresses and hazard text, fast on both backends.

PostgreSQL: `ILIKE '%term%'` (LIKE for a term without cased letters) served by pg_trgm GIN indexes (migration 0004_office; the database
must be UTF8 with a C.UTF-8 or similar locale, else non-ASCII text falls back to a scan).
SQLite: FTS5 with the trigram tokenizer, kept by triggers; a trigram needs three characters, so
one- and two-character terms (粉尘, 氨) fall back to LIKE — correct, only slower.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, ColumnElement, Connection, String, bindparam, literal_column, or_,
                        select, table)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.visitors import InternalTraversal

FTS_MIN_CHARS = 3

# External-content FTS5 tables over the rows' rowids (deleting by rowid is cheap; an UNINDEXED
# id column would make every update scan the index).
_SQLITE_SEARCH = {
    "hazard": ("hazard_fts", ("description",)),
    "enterprise": ("enterprise_fts", ("name", "address")),
}


def _sqlite_ddl(source: str) -> list[str]:
    fts, cols = _SQLITE_SEARCH[source]
    names = ", ".join(cols)
    new = ", ".join(f"new.{c}" for c in cols)
    old = ", ".join(f"old.{c}" for c in cols)
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({names}, content='{source}', "
        f"content_rowid='rowid', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ai AFTER INSERT ON {source} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.rowid, {new}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_ad AFTER DELETE ON {source} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.rowid, {old}); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_au AFTER UPDATE OF {names} ON {source} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.rowid, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.rowid, {new}); END",
    ]


def ensure_sqlite_search(conn: Connection) -> None:
    """Create the FTS tables and triggers if missing and rebuild them from their tables. Run
    after every SQLite migration: a batch migration copies a table (new rowids) and drops its
    triggers with the old one."""
    if not conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE name = 'hazard'").scalar():
        return
    for source, (fts, _cols) in _SQLITE_SEARCH.items():
        for statement in _sqlite_ddl(source):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def drop_sqlite_search(conn: Connection) -> None:
    for _source, (fts, _cols) in _SQLITE_SEARCH.items():
        for suffix in ("ai", "ad", "au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")


# PostgreSQL: (index name, table, column) — GIN trigram indexes for ILIKE '%…%'.
PG_TRGM_INDEXES = (("ix_enterprise_name_trgm", "enterprise", "name"),
                   ("ix_enterprise_address_trgm", "enterprise", "address"),
                   ("ix_hazard_description_trgm", "hazard", "description"))


def _fts_query(term: str) -> str:
    """The term as one FTS5 phrase (quotes doubled): matched as a substring by trigrams."""
    return '"' + term.replace('"', '""') + '"'


def _like_pattern(term: str) -> str:
    """'%term%' with LIKE's wildcards in the term escaped by '/' (as SQLAlchemy's autoescape)."""
    return "%" + term.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"


class TextMatch(ColumnElement[bool]):
    """Rows of `source` ("hazard" or "enterprise") whose `columns` contain `term`: compiled per
    dialect, so the queries that use it stay the same on both backends.

    Cached like any SQLAlchemy expression: the SQL depends on the term only through `shape`
    (its length and case), which is in the cache key; the term itself travels as bound
    parameters. (Uncached, every search page compiled its four statements anew.)"""

    type = Boolean()
    # a condition in itself: SQLite would otherwise be sent `… IN (…) = 1`, which no index serves
    _is_implicitly_boolean = True
    inherit_cache = True
    _traverse_internals = [("source", InternalTraversal.dp_string),
                           ("columns", InternalTraversal.dp_clauseelement_tuple),
                           ("shape", InternalTraversal.dp_string),
                           ("pattern", InternalTraversal.dp_clauseelement),
                           ("phrase", InternalTraversal.dp_clauseelement)]

    def __init__(self, source: str, columns, term: str) -> None:
        term = term.strip()
        self.source, self.columns = source, tuple(columns)
        # A term without letters that have case (Chinese, digits) matches the same rows with
        # LIKE as with ILIKE, and LIKE is three times faster on PostgreSQL (no lower() of every
        # row's text); both are served by the trigram index.
        caseless = term.lower() == term == term.upper()
        short = len(term) < FTS_MIN_CHARS or source not in _SQLITE_SEARCH
        self.shape = ("like" if caseless else "ilike") + ("" if short else "+fts")
        self.pattern = bindparam(None, _like_pattern(term), type_=String(), unique=True)
        self.phrase = bindparam(None, _fts_query(term), type_=String(), unique=True)

    def like(self) -> ColumnElement[bool]:
        if self.shape.startswith("like"):
            return or_(*(c.like(self.pattern, escape="/") for c in self.columns))
        return or_(*(c.ilike(self.pattern, escape="/") for c in self.columns))


@compiles(TextMatch)
def _compile_like(element: TextMatch, compiler, **kw) -> str:
    return compiler.process(element.like(), **kw)


@compiles(TextMatch, "sqlite")
def _compile_fts(element: TextMatch, compiler, **kw) -> str:
    if not element.shape.endswith("+fts"):
        return compiler.process(element.like(), **kw)
    fts, _cols = _SQLITE_SEARCH[element.source]
    hits = (select(literal_column("rowid")).select_from(table(fts))
            .where(literal_column(fts).op("MATCH")(element.phrase)))
    return compiler.process(literal_column(f"{element.source}.rowid").in_(hits), **kw)


def text_matches(source: str, columns, term: str) -> ColumnElement[bool]:
    return TextMatch(source, columns, term)
