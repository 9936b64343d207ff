"""second-factor policy: required for a master account's people, and for operators

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('master_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_totp', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'sign_in_policy',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('operators_require_totp', sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_policy')),
    )
    op.execute("INSERT INTO sign_in_policy (id, operators_require_totp) VALUES (1, false)")


def downgrade() -> None:
    op.drop_table('sign_in_policy')
    with op.batch_alter_table('master_accounts', schema=None) as batch_op:
        batch_op.drop_column('require_totp')
