"""bulk imports (console CSV requests)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bulk_imports',
        sa.Column('id', sa.String(32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.String(18), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('valid_rows', sa.Integer(), nullable=False),
        sa.Column('rows_json', sa.Text(), nullable=False),
        sa.Column('groups_json', sa.Text(), nullable=False),
        sa.Column('results_json', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bulk_imports_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_imports')),
    )
    op.create_index('ix_bulk_imports_user', 'bulk_imports', ['user_id', 'created_at'])


def downgrade() -> None:
    op.drop_table('bulk_imports')
