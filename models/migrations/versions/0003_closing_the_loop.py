"""closing the loop: inspection kind, re-inspection reviews, hazard life after the order

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain column (values checked by the mapped enum): a CHECK constraint would make SQLite
    # copy the inspection table, which every other table references (foreign keys are on).
    # Every column here is added in place (ALTER TABLE ADD COLUMN), whatever the data.
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=False,
                                      server_default='inspection'))

    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_deadline', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('escalated', sa.Boolean(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('assigned_to', sa.String(length=100), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('ledger_no', sa.String(length=50), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('reported_on', sa.Date(), nullable=True))
    op.create_index('ix_hazard_due', 'hazard',
                    [sa.text('coalesce(current_deadline, deadline)'), 'status', 'inspection_id'], unique=False)
    op.create_index('ix_hazard_found_at', 'hazard', ['found_at'], unique=False)
    op.create_index('ix_hazard_status_due', 'hazard',
                    ['status', sa.text('coalesce(current_deadline, deadline)'), 'inspection_id'],
                    unique=False)

    op.create_table('hazard_review',
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('hazard_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rectified', sa.Boolean(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('new_deadline', sa.Date(), nullable=True),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'],
                            name=op.f('fk_hazard_review_hazard_id_hazard')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'],
                            name=op.f('fk_hazard_review_inspection_id_inspection')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_review')),
    sa.UniqueConstraint('inspection_id', 'hazard_id', name=op.f('uq_hazard_review_inspection_id'))
    )
    with op.batch_alter_table('hazard_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_review_hazard_id'), ['hazard_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_review_inspection_id'), ['inspection_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('hazard_review')
    op.drop_index('ix_hazard_status_due', table_name='hazard')
    op.drop_index('ix_hazard_found_at', table_name='hazard')
    op.drop_index('ix_hazard_due', table_name='hazard')
    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.drop_column('reported_on')
        batch_op.drop_column('ledger_no')
        batch_op.drop_column('assigned_to')
        batch_op.drop_column('escalated')
        batch_op.drop_column('current_deadline')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_column('kind')
