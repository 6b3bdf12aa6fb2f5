"""agency settings: the time zone documents and screens show, copies printed per document

Revision ID: 0004_docs
Revises: 0004_autosave
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_docs'
down_revision = '0004_autosave'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agency_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), nullable=False,
                                      server_default='Asia/Shanghai'))
        batch_op.add_column(sa.Column('document_copies', sa.Integer(), nullable=False,
                                      server_default='2'))


def downgrade() -> None:
    with op.batch_alter_table('agency_settings', schema=None) as batch_op:
        batch_op.drop_column('document_copies')
        batch_op.drop_column('time_zone')
