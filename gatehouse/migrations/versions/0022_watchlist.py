"""watchlist: deny-list entries, the security holds their matches raise, operator roles

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        # an operator's roles (SPEC §16): desk, watchlist, admin; every operator so far works the desk
        batch_op.add_column(sa.Column('operator_roles', sa.String(60), nullable=False, server_default='desk'))
    op.create_table(
        'watchlist_entries',
        sa.Column('id', sa.String(20), nullable=False),
        sa.Column('first_name', sa.String(40), nullable=False),
        sa.Column('last_name', sa.String(40), nullable=False),
        sa.Column('email', sa.String(254), nullable=True),
        sa.Column('date_of_birth', sa.Date(), nullable=True),
        sa.Column('reason', sa.String(500), nullable=False),
        sa.Column('site_code', sa.String(6), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('created_by', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['site_code'], ['sites.code'], ondelete='CASCADE',
                                name=op.f('fk_watchlist_entries_site_code_sites')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_entries')),
    )
    op.create_index('ix_watchlist_entries_names', 'watchlist_entries', ['last_name', 'first_name'])
    op.create_table(
        'watchlist_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watchlist_version')),
    )
    op.execute("INSERT INTO watchlist_version (id, value) VALUES (1, 0)")
    op.create_table(
        'security_holds',
        sa.Column('work_order_id', sa.String(20), nullable=False),
        sa.Column('entry_id', sa.String(20), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('matched_on', sa.String(40), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
        sa.Column('raised_at', sa.DateTime(), nullable=False),
        sa.Column('decided_by', sa.String(100), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decision_reason', sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ondelete='CASCADE',
                                name=op.f('fk_security_holds_work_order_id_work_orders')),
        sa.PrimaryKeyConstraint('work_order_id', name=op.f('pk_security_holds')),
    )


def downgrade() -> None:
    op.drop_table('security_holds')
    op.drop_table('watchlist_version')
    op.drop_index('ix_watchlist_entries_names', table_name='watchlist_entries')
    op.drop_table('watchlist_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('operator_roles')
