"""server keys (the HMAC key of client-secret hashes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'server_keys',
        sa.Column('name', sa.String(40), nullable=False),
        sa.Column('value', sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_server_keys')),
    )


def downgrade() -> None:
    op.drop_table('server_keys')
