"""each list counter spread over a few rows (ticket_counts.shard): creates of one account no longer
wait for each other's commits on one counter row

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # existing counts stay in shard 0; the reads sum the shards
    with op.batch_alter_table('ticket_counts', recreate='always') as batch_op:
        batch_op.add_column(sa.Column('shard', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.drop_constraint('pk_ticket_counts', type_='primary')
        batch_op.create_primary_key('pk_ticket_counts', ['account_id', 'site_code', 'status', 'requester', 'shard'])


def downgrade() -> None:
    op.execute("CREATE TABLE ticket_counts_summed AS SELECT account_id, site_code, status, requester, "
               "SUM(n) AS n FROM ticket_counts GROUP BY account_id, site_code, status, requester")
    op.execute("DELETE FROM ticket_counts")
    with op.batch_alter_table('ticket_counts', recreate='always') as batch_op:
        batch_op.drop_constraint('pk_ticket_counts', type_='primary')
        batch_op.drop_column('shard')
        batch_op.create_primary_key('pk_ticket_counts', ['account_id', 'site_code', 'status', 'requester'])
    op.execute("INSERT INTO ticket_counts (account_id, site_code, status, requester, n) "
               "SELECT account_id, site_code, status, requester, n FROM ticket_counts_summed")
    op.drop_table('ticket_counts_summed')
