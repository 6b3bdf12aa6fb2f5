"""交办 of major hazards: the office's assignment records (a re-assignment replaces one)

Revision ID: 0005_office2
Revises: 0004_office
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_office2'
down_revision = '0004_office'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # DEFERRABLE INITIALLY IMMEDIATE like every foreign key since 0004_office: an import
    # checks references at the commit (SQLite accepts and ignores the clause's effect).
    fk = dict(deferrable=True, initially='IMMEDIATE')
    op.create_table(
        'hazard_assignment',
        sa.Column('hazard_id', sa.Uuid(), nullable=False),
        sa.Column('assignee', sa.String(length=100), nullable=False),
        sa.Column('deadline', sa.Date(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.Column('assigned_by', sa.String(length=200), nullable=False),
        sa.Column('replaces_id', sa.Uuid(), nullable=True),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('device_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'],
                                name=op.f('fk_hazard_assignment_hazard_id_hazard'), **fk),
        sa.ForeignKeyConstraint(['replaces_id'], ['hazard_assignment.id'],
                                name=op.f('fk_hazard_assignment_replaces_id_hazard_assignment'),
                                **fk),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_assignment')))
    op.create_index(op.f('ix_hazard_assignment_hazard_id'), 'hazard_assignment', ['hazard_id'],
                    unique=False)
    op.create_index(op.f('ix_hazard_assignment_replaces_id'), 'hazard_assignment',
                    ['replaces_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_hazard_assignment_replaces_id'), table_name='hazard_assignment')
    op.drop_index(op.f('ix_hazard_assignment_hazard_id'), table_name='hazard_assignment')
    op.drop_table('hazard_assignment')
