"""checklist items record where each citation of their legal basis was checked

Revision ID: 0004_citations
Revises: 0003
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_citations'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place (ALTER TABLE ADD COLUMN); stored versions keep '[]' until the next load,
    # which stores the changed content as a new checklist version.
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis_sources', sa.Text(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('basis_sources')
