"""the ledger search, arm by arm: hazards of an item or an enterprise in deadline order

Revision ID: 0006_search
Revises: 0005_officebench
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_search'
down_revision = '0005_officebench'
branch_labels = None
depends_on = None

DUE = sa.text('coalesce(current_deadline, deadline)')


def upgrade() -> None:
    # A search that matches an item's code or a firm finds that arm's first page by walking one
    # of these in deadline order (models.ledger._first_hits), wherever its hazards lie in the
    # order: 175 ms → ~25 ms at 1M hazards. They serve the lookups by item or firm alone too,
    # so the single-column item index goes.
    op.create_index('ix_hazard_item_due', 'hazard', ['item_id', DUE, 'id'])
    op.create_index('ix_hazard_enterprise_due', 'hazard', ['enterprise_id', DUE, 'id'])
    op.drop_index('ix_hazard_item_id', table_name='hazard')


def downgrade() -> None:
    op.create_index('ix_hazard_item_id', 'hazard', ['item_id'])
    op.drop_index('ix_hazard_enterprise_due', table_name='hazard')
    op.drop_index('ix_hazard_item_due', table_name='hazard')
