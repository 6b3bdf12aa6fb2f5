"""计划执法: annual plans, 双随机 draws, tasks, 回避, township and availability in the registers

Revision ID: 0004_plan
Revises: 0004_citations
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_plan'
down_revision = '0004_citations'
branch_labels = None
depends_on = None


def _record_columns():
    return [sa.Column('id', sa.Uuid(), nullable=False),
            sa.Column('created_at', sa.DateTime(), nullable=False),
            sa.Column('updated_at', sa.DateTime(), nullable=False),
            sa.Column('device_id', sa.String(length=36), nullable=False)]


def upgrade() -> None:
    # Plain ADD COLUMNs (in place on SQLite: the tables every other table references are not copied).
    op.add_column('enterprise', sa.Column('risk_reason', sa.String(length=300), nullable=False,
                                          server_default=''))
    op.add_column('enterprise', sa.Column('township', sa.String(length=100), nullable=False,
                                          server_default=''))
    op.add_column('inspector', sa.Column('available', sa.Boolean(), nullable=False,
                                         server_default='1'))
    op.add_column('inspector', sa.Column('unavailable_reason', sa.String(length=200),
                                         nullable=False, server_default=''))
    op.create_table('planning_settings', sa.Column('rules_json', sa.Text(), nullable=False),
                    *_record_columns(), sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_settings')))
    op.create_table(
        'inspector_avoidance',
        sa.Column('inspector_id', sa.Uuid(), nullable=False),
        sa.Column('enterprise_id', sa.Uuid(), nullable=True),
        sa.Column('township', sa.String(length=100), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'],
                                name=op.f('fk_inspector_avoidance_enterprise_id_enterprise')),
        sa.ForeignKeyConstraint(['inspector_id'], ['inspector.id'],
                                name=op.f('fk_inspector_avoidance_inspector_id_inspector')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspector_avoidance')))
    op.create_index(op.f('ix_inspector_avoidance_inspector_id'), 'inspector_avoidance',
                    ['inspector_id'], unique=False)
    op.create_table(
        'inspection_plan',
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('rules_json', sa.Text(), nullable=False),
        sa.Column('focus_json', sa.Text(), nullable=False),
        sa.Column('quotas_json', sa.Text(), nullable=False),
        sa.Column('summary_json', sa.Text(), nullable=False),
        *_record_columns(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_plan')),
        sa.UniqueConstraint('year', name=op.f('uq_inspection_plan_year')))
    op.create_table(
        'plan_draw',
        sa.Column('plan_id', sa.Uuid(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('seed', sa.String(length=200), nullable=False),
        sa.Column('algorithm', sa.String(length=50), nullable=False),
        sa.Column('drawn_at', sa.DateTime(), nullable=False),
        sa.Column('drawn_by', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('replaces_id', sa.Uuid(), nullable=True),
        sa.Column('inputs_json', sa.Text(), nullable=False),
        sa.Column('inputs_hash', sa.String(length=64), nullable=False),
        sa.Column('enterprises_hash', sa.String(length=64), nullable=False),
        sa.Column('inspectors_hash', sa.String(length=64), nullable=False),
        sa.Column('exclusions_json', sa.Text(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=False),
        sa.Column('result_hash', sa.String(length=64), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'],
                                name=op.f('fk_plan_draw_plan_id_inspection_plan')),
        sa.ForeignKeyConstraint(['replaces_id'], ['plan_draw.id'],
                                name=op.f('fk_plan_draw_replaces_id_plan_draw')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_draw')))
    op.create_index(op.f('ix_plan_draw_plan_id'), 'plan_draw', ['plan_id'], unique=False)
    op.create_table(
        'plan_task',
        sa.Column('plan_id', sa.Uuid(), nullable=False),
        sa.Column('draw_id', sa.Uuid(), nullable=True),
        sa.Column('enterprise_id', sa.Uuid(), nullable=False),
        sa.Column('inspector_ids', sa.Text(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('first_month', sa.Integer(), nullable=False),
        sa.Column('due_month', sa.Integer(), nullable=False),
        sa.Column('cancelled', sa.Boolean(), nullable=False),
        *_record_columns(),
        sa.ForeignKeyConstraint(['draw_id'], ['plan_draw.id'], name=op.f('fk_plan_task_draw_id_plan_draw')),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'],
                                name=op.f('fk_plan_task_enterprise_id_enterprise')),
        sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'],
                                name=op.f('fk_plan_task_plan_id_inspection_plan')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_task')))
    op.create_index(op.f('ix_plan_task_draw_id'), 'plan_task', ['draw_id'], unique=False)
    op.create_index(op.f('ix_plan_task_enterprise_id'), 'plan_task', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_plan_task_plan_id'), 'plan_task', ['plan_id'], unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a referencing column in place; Alembic would copy the whole table.
        op.execute('ALTER TABLE inspection ADD COLUMN task_id CHAR(32) '
                   'CONSTRAINT fk_inspection_task_id_plan_task REFERENCES plan_task (id)')
    else:
        op.add_column('inspection', sa.Column('task_id', sa.Uuid(), nullable=True))
        op.create_foreign_key('fk_inspection_task_id_plan_task', 'inspection', 'plan_task',
                              ['task_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('inspection') as batch_op:
        batch_op.drop_column('task_id')
    for table in ('plan_task', 'plan_draw', 'inspection_plan', 'inspector_avoidance',
                  'planning_settings'):
        op.drop_table(table)
    for table, col in (('inspector', 'unavailable_reason'), ('inspector', 'available'),
                       ('enterprise', 'township'), ('enterprise', 'risk_reason')):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(col)
