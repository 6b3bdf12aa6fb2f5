"""the office on PostgreSQL: foreign keys checkable at the commit

Revision ID: 0004_office
Revises: 0004_docs
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

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
    if bind.dialect.name == 'postgresql':
        # An import writes a bundle's rows table by table and checks the references at the
        # commit (a re-inspection may come before its original): SQLite's defer_foreign_keys
        # needs nothing in the schema, PostgreSQL defers only DEFERRABLE constraints. INITIALLY
        # IMMEDIATE: every other write is checked statement by statement, as before.
        for table, name in _foreign_keys(bind):
            op.execute(f'ALTER TABLE "{table}" ALTER CONSTRAINT "{name}" DEFERRABLE INITIALLY IMMEDIATE')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for table, name in _foreign_keys(bind):
            op.execute(f'ALTER TABLE "{table}" ALTER CONSTRAINT "{name}" NOT DEFERRABLE')
