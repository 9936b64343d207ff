"""console sign-in lock-out keyed by email (known or not), on the shared lock-out mechanism

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_in_throttles',
        sa.Column('key', sa.String(64), nullable=False),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles')),
    )
    op.create_index(op.f('ix_sign_in_throttles_locked_until'), 'sign_in_throttles', ['locked_until'])
    with op.batch_alter_table('console_logins') as batch:
        batch.drop_column('failed_attempts')
        batch.drop_column('locked_until')


def downgrade() -> None:
    with op.batch_alter_table('console_logins') as batch:
        batch.add_column(sa.Column('failed_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))
    op.drop_table('sign_in_throttles')
