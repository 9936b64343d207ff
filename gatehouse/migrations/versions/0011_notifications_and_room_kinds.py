"""the notifications polling API's rows; location kinds (PoP/POE rooms); a PoP/POE visitor's contact type

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'account_notifications',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('account_id', sa.String(18), nullable=False),
        sa.Column('event_id', sa.String(36), nullable=False),
        sa.Column('type', sa.String(64), nullable=False),
        sa.Column('title', sa.String(300), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('ticket_id', sa.String(20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('read_flag', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('delete_flag', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column('dcim', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_notifications')),
        sa.UniqueConstraint('event_id', 'account_id', name=op.f('uq_account_notifications_event_id')),
    )
    op.create_index('ix_account_notifications_account_created', 'account_notifications',
                    ['account_id', 'created_at', 'id'])
    op.create_index('ix_account_notifications_created', 'account_notifications', ['created_at'])
    with op.batch_alter_table('locations') as batch:
        batch.add_column(sa.Column('kind', sa.String(16), nullable=False, server_default='room'))
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('contact_type', sa.String(40), nullable=False, server_default=''))
    op.create_index('ix_work_orders_account_kind_created', 'work_orders',
                    ['account_id', 'request_type', 'created_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_work_orders_account_kind_created', 'work_orders')
    with op.batch_alter_table('work_orders') as batch:
        batch.drop_column('contact_type')
    with op.batch_alter_table('locations') as batch:
        batch.drop_column('kind')
    op.drop_index('ix_account_notifications_created', 'account_notifications')
    op.drop_index('ix_account_notifications_account_created', 'account_notifications')
    op.drop_table('account_notifications')
