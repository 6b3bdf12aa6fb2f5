"""the office: foreign keys checkable at the commit on PostgreSQL;
Chinese search indexes

Revision ID: 0004_office
Revises: 0004_docs
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from models.search import PG_TRGM_INDEXES, drop_sqlite_search, ensure_sqlite_search

revision = '0004_office'
down_revision = '0004_docs'
branch_labels = None
depends_on = None


def _foreign_keys(bind):
    insp = sa.inspect(bind)
    for table in insp.get_table_names():
        for fk in insp.get_foreign_keys(table):
            if fk.get('name'):
                yield table, fk['name']


def upgrade() -> None:
    bind = op.get_bind()
    # 乡镇/街道 of an enterprise (the office counts and assigns by it) came with 0004_plan.
    if bind.dialect.name == 'postgresql':
        # An import writes a bundle's rows table by table and checks the references at the
        # commit (a re-inspection may come before its original): SQLite's defer_foreign_keys
        # needs nothing in the schema, PostgreSQL defers only DEFERRABLE constraints. INITIALLY
        # IMMEDIATE: every other write is checked statement by statement, as before.
        for table, name in _foreign_keys(bind):
            op.execute(f'ALTER TABLE "{table}" ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')
        # Chinese search: ILIKE '%…%' through trigram GIN indexes (pg_trgm is a trusted
        # extension: the database's owner may create it).
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for name, table, column in PG_TRGM_INDEXES:
            op.execute(f'CREATE INDEX {name} ON "{table}" USING gin ("{column}" gin_trgm_ops)')
    else:
        ensure_sqlite_search(bind)  # FTS5 trigram tables kept by triggers


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        drop_sqlite_search(bind)
    else:
        for name, _table, _column in PG_TRGM_INDEXES:
            op.execute(f'DROP INDEX IF EXISTS {name}')
        for table, name in _foreign_keys(bind):
            op.execute(f'ALTER TABLE "{table}" ALTER CONSTRAINT "{name}" NOT DEFERRABLE')
