"""identity and escort checks at check-in: per-site requirements, what the desk recorded

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sites') as batch:
        batch.add_column(sa.Column('require_identity_check', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('require_escort_confirmation', sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('identity_type', sa.String(20), nullable=True))
        batch.add_column(sa.Column('identity_country', sa.String(56), nullable=True))
        batch.add_column(sa.Column('identity_last4', sa.String(4), nullable=True))
        batch.add_column(sa.Column('identity_expiry', sa.Date(), nullable=True))
        batch.add_column(sa.Column('identity_checked_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('escort_confirmed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('escort_badge_number', sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_orders') as batch:
        for column in ('escort_badge_number', 'escort_confirmed_at', 'identity_checked_at', 'identity_expiry',
                       'identity_last4', 'identity_country', 'identity_type'):
            batch.drop_column(column)
    with op.batch_alter_table('sites') as batch:
        batch.drop_column('require_escort_confirmation')
        batch.drop_column('require_identity_check')
