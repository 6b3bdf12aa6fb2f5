"""the office at scale: hazards by checklist item (a search that matches an item's code)

Revision ID: 0005_officebench
Revises: 0004_office
Create Date: 2026-12-01
"""
from alembic import op

revision = '0005_officebench'
down_revision = '0005_office2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The ledger search ORs the hazard text with its enterprise and its item: with an index on
    # each arm PostgreSQL combines them (BitmapOr) instead of testing every hazard.
    op.create_index('ix_hazard_item_id', 'hazard', ['item_id'])


def downgrade() -> None:
    op.drop_index('ix_hazard_item_id', table_name='hazard')
