"""when a stay was reported overstayed (once per stay)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('overstay_reported_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_orders') as batch:
        batch.drop_column('overstay_reported_at')
