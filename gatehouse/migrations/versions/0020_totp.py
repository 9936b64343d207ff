"""a second factor (TOTP) for console sign-in, with recovery codes

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'totp_factors',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(64), nullable=False),
        sa.Column('enrolled_at', sa.DateTime(), nullable=False),
        sa.Column('last_step', sa.BigInteger(), nullable=False, server_default='0'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_totp_factors_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_totp_factors')),
    )
    op.create_table(
        'totp_recovery_codes',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_totp_recovery_codes_user_id_users')),
        sa.PrimaryKeyConstraint('user_id', 'code_hash', name=op.f('pk_totp_recovery_codes')),
    )
    with op.batch_alter_table('console_sessions') as batch:
        batch.add_column(sa.Column('second_factor_pending', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('console_sessions') as batch:
        batch.drop_column('second_factor_pending')
    op.drop_table('totp_recovery_codes')
    op.drop_table('totp_factors')
