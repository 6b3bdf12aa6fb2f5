"""autosave: an answer may hold a note or photos before its result is chosen

Revision ID: 0004_autosave
Revises: 0004_plan
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_autosave'
down_revision = '0004_plan'
branch_labels = None
depends_on = None

RESULT = sa.Enum('compliant', 'noncompliant', 'not_applicable', name='answerresult',
                 native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    # SQLite copies the answer table (batch mode, foreign keys off during migrations: see
    # models/store.py); PostgreSQL drops the NOT NULL in place. The CHECK on the values stays.
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.alter_column('result', existing_type=RESULT, nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM answer WHERE result IS NULL")
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.alter_column('result', existing_type=RESULT, nullable=False)
