"""Alembic environment: always run on a connection handed in by models.store."""
from alembic import context
from sqlalchemy import Table, UniqueConstraint, event
from sqlalchemy.sql.elements import conv

from models.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite can only ALTER through table copies
    compare_type=True,
)


def _unique_names_per_schema(table: Table, *_args, **_kw) -> None:
    """SQLite names constraints per table, PostgreSQL per schema (a unique constraint is an
    index there): 0001 names checklist's two unique constraints both uq_checklist_code. On
    PostgreSQL each of a repeated name gets all its columns in it (SQLite keeps its names)."""
    by_name: dict[str, list[UniqueConstraint]] = {}
    for c in table.constraints:
        if isinstance(c, UniqueConstraint) and c.name:
            by_name.setdefault(str(c.name), []).append(c)
    for same in by_name.values():
        if len(same) > 1:
            for c in same:
                c.name = conv("_".join(["uq", table.name, *(col.name for col in c.columns)]))


on_server = connection.dialect.name == "postgresql"
if on_server:
    event.listen(Table, "before_create", _unique_names_per_schema)
try:
    with context.begin_transaction():
        context.run_migrations()
finally:
    if on_server:
        event.remove(Table, "before_create", _unique_names_per_schema)
