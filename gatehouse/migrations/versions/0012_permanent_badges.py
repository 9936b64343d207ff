"""permanent badges: their holders, per-location decisions, locations at more than one site

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'badge_holders',
        sa.Column('id', sa.String(20), nullable=False),
        sa.Column('account_id', sa.String(18), nullable=False),
        sa.Column('email_key', sa.String(254), nullable=False),
        sa.Column('first_name', sa.String(20), nullable=False),
        sa.Column('last_name', sa.String(20), nullable=False),
        sa.Column('email', sa.String(254), nullable=False),
        sa.Column('company', sa.String(120), nullable=False),
        sa.Column('phone', sa.String(40), nullable=False),
        sa.Column('badge_start', sa.Date(), nullable=False),
        sa.Column('badge_expiration', sa.Date(), nullable=True),
        sa.Column('badge_number', sa.String(40), nullable=True),
        sa.Column('last_check_in', sa.DateTime(), nullable=True),
        sa.Column('activated_at', sa.DateTime(), nullable=True),
        sa.Column('deactivated_at', sa.DateTime(), nullable=True),
        sa.Column('terminated_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_holders')),
        sa.UniqueConstraint('account_id', 'email_key', name=op.f('uq_badge_holders_account_id')),
    )
    with op.batch_alter_table('work_order_locations') as batch:
        batch.add_column(sa.Column('site_code', sa.String(6), nullable=True))
        batch.add_column(sa.Column('decision', sa.String(16), nullable=True))
        batch.add_column(sa.Column('decision_reason', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('badge_holder_id', sa.String(20), nullable=True))
    op.create_index('ix_work_orders_badge_holder_id', 'work_orders', ['badge_holder_id'])


def downgrade() -> None:
    op.drop_index('ix_work_orders_badge_holder_id', 'work_orders')
    with op.batch_alter_table('work_orders') as batch:
        batch.drop_column('badge_holder_id')
    with op.batch_alter_table('work_order_locations') as batch:
        batch.drop_column('decision_reason')
        batch.drop_column('decision')
        batch.drop_column('site_code')
    op.drop_table('badge_holders')
