"""webhook endpoints

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('account_id', sa.String(18), nullable=True),
        sa.Column('site_code', sa.String(6), nullable=True),
        sa.Column('url', sa.String(2000), nullable=False),
        sa.Column('event_types', sa.Text(), nullable=False),
        sa.Column('description', sa.String(200), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.String(200), nullable=True),
        sa.Column('secret', sa.String(120), nullable=False),
        sa.Column('previous_secret', sa.String(120), nullable=True),
        sa.Column('previous_secret_until', sa.DateTime(), nullable=True),
        sa.Column('failing_since', sa.DateTime(), nullable=True),
        sa.Column('created_by', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    op.create_index('ix_webhook_endpoints_account', 'webhook_endpoints', ['account_id', 'enabled'])
    op.create_index('ix_webhook_endpoints_site', 'webhook_endpoints', ['site_code', 'enabled'])


def downgrade() -> None:
    op.drop_table('webhook_endpoints')
