"""single sign-on: identity providers, sign-ins under way, sessions opened by a provider

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sso_providers',
        sa.Column('scope', sa.String(40), nullable=False),
        sa.Column('name', sa.String(80), nullable=False),
        sa.Column('issuer', sa.String(500), nullable=False),
        sa.Column('client_id', sa.String(200), nullable=False),
        sa.Column('client_secret', sa.String(500), nullable=False),
        sa.Column('email_claim', sa.String(60), nullable=False),
        sa.Column('create_users', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_sso_providers')),
    )
    op.create_table(
        'sso_logins',
        sa.Column('state', sa.String(64), nullable=False),
        sa.Column('scope', sa.String(40), nullable=False),
        sa.Column('nonce', sa.String(64), nullable=False),
        sa.Column('code_verifier', sa.String(128), nullable=False),
        sa.Column('redirect_uri', sa.String(500), nullable=False),
        sa.Column('next_page', sa.String(500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('state', name=op.f('pk_sso_logins')),
    )
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        # opened by an identity provider: its own second factor stands for the console's
        batch_op.add_column(sa.Column('via_sso', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('console_sessions', schema=None) as batch_op:
        batch_op.drop_column('via_sso')
    op.drop_table('sso_logins')
    op.drop_table('sso_providers')
