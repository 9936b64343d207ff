"""the host's email (told on arrival); check-in and check-out times; roll-call marks

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('host_email', sa.String(254), nullable=False, server_default=''))
        batch.add_column(sa.Column('checked_in_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('checked_out_at', sa.DateTime(), nullable=True))
    op.create_table(
        'roll_call_marks',
        sa.Column('site_code', sa.String(6), nullable=False),
        sa.Column('work_order_id', sa.String(20), nullable=False),
        sa.Column('accounted_for', sa.Boolean(), nullable=False),
        sa.Column('marked_by', sa.String(40), nullable=False),
        sa.Column('marked_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('site_code', 'work_order_id', name=op.f('pk_roll_call_marks')),
    )


def downgrade() -> None:
    op.drop_table('roll_call_marks')
    with op.batch_alter_table('work_orders') as batch:
        batch.drop_column('checked_out_at')
        batch.drop_column('checked_in_at')
        batch.drop_column('host_email')
