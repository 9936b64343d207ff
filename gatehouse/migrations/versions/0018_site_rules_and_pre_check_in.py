"""a site's arrival instructions and rules document (versioned); the visitor's acceptance

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sites') as batch:
        batch.add_column(sa.Column('arrival_instructions', sa.Text(), nullable=False, server_default=''))
    op.create_table(
        'site_rules',
        sa.Column('site_code', sa.String(6), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('markdown', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_code'], ['sites.code'], ondelete='CASCADE',
                                name=op.f('fk_site_rules_site_code_sites')),
        sa.PrimaryKeyConstraint('site_code', 'version', name=op.f('pk_site_rules')),
    )
    with op.batch_alter_table('work_orders') as batch:
        batch.add_column(sa.Column('rules_version', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('rules_accepted_name', sa.String(120), nullable=True))
        batch.add_column(sa.Column('rules_accepted_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('rules_accepted_ip', sa.String(45), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_orders') as batch:
        for column in ('rules_accepted_ip', 'rules_accepted_at', 'rules_accepted_name', 'rules_version'):
            batch.drop_column(column)
    op.drop_table('site_rules')
    with op.batch_alter_table('sites') as batch:
        batch.drop_column('arrival_instructions')
