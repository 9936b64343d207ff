"""access times per location, request kinds, strict apps

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_order_locations') as batch:
        batch.add_column(sa.Column('access_start_time', sa.Time(), nullable=False, server_default='00:00:00'))
        batch.add_column(sa.Column('access_end_time', sa.Time(), nullable=False, server_default='23:59:00'))
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('request_type', sa.String(32), nullable=False, server_default='Visitor Access'))
        batch.add_column(sa.Column('ticket_category', sa.String(40), nullable=False,
                                   server_default='New Visitor Access'))
    with op.batch_alter_table('apps') as batch:
        batch.add_column(sa.Column('strict', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('apps') as batch:
        batch.drop_column('strict')
    with op.batch_alter_table('work_orders') as batch:
        batch.drop_column('ticket_category')
        batch.drop_column('request_type')
    with op.batch_alter_table('work_order_locations') as batch:
        batch.drop_column('access_end_time')
        batch.drop_column('access_start_time')
