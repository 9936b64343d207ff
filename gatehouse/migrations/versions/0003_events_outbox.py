"""events (append-only), outbox, delivery attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'events',
        sa.Column('seq', Seq, primary_key=True, autoincrement=True),
        sa.Column('id', sa.String(36), nullable=False),
        sa.Column('type', sa.String(64), nullable=False),
        sa.Column('occurred_at', sa.DateTime(), nullable=False),
        sa.Column('actor_kind', sa.String(16), nullable=False),
        sa.Column('actor_name', sa.String(100), nullable=False),
        sa.Column('actor_client_id', sa.String(64), nullable=False),
        sa.Column('account_id', sa.String(18), nullable=True),
        sa.Column('site_code', sa.String(6), nullable=True),
        sa.Column('object_id', sa.String(64), nullable=False),
        sa.Column('data', sa.Text(), nullable=False),
        sa.Column('correlation_id', sa.String(64), nullable=False),
        sa.Column('ip', sa.String(45), nullable=False),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_events')),
        sa.UniqueConstraint('id', name=op.f('uq_events_id')),
    )
    op.create_index('ix_events_account_seq', 'events', ['account_id', 'seq'])
    op.create_index('ix_events_site_seq', 'events', ['site_code', 'seq'])
    op.create_index('ix_events_object_seq', 'events', ['object_id', 'seq'])
    op.create_index('ix_events_occurred', 'events', ['occurred_at'])
    op.create_table(
        'outbox',
        sa.Column('id', Seq, primary_key=True, autoincrement=True),
        sa.Column('channel', sa.String(32), nullable=False),
        sa.Column('target', sa.String(320), nullable=False),
        sa.Column('event_id', sa.String(36), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('leased_by', sa.String(64), nullable=False),
        sa.Column('last_error', sa.String(1024), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'next_attempt_at'])
    op.create_index('ix_outbox_channel_target', 'outbox', ['channel', 'target', 'id'])
    op.create_table(
        'delivery_attempts',
        sa.Column('id', Seq, primary_key=True, autoincrement=True),
        sa.Column('message_id', Seq, nullable=False),
        sa.Column('attempted_at', sa.DateTime(), nullable=False),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('response_status', sa.Integer(), nullable=True),
        sa.Column('error', sa.String(1024), nullable=False),
        sa.Column('response_body', sa.String(1024), nullable=False),
        sa.Column('worker', sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['outbox.id'], name=op.f('fk_delivery_attempts_message_id_outbox'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts')),
    )
    op.create_index('ix_delivery_attempts_message', 'delivery_attempts', ['message_id', 'id'])
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_work_orders_anonymised_closed', ['anonymised_at', 'closed_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Append-only: only the retention purge, which sets gatehouse.purge for its own
        # transaction, may delete; nothing may update.
        op.execute("""
            CREATE FUNCTION gatehouse_events_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND current_setting('gatehouse.purge', true) = 'on' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'events are append-only (% refused)', TG_OP;
            END;
            $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
            FOR EACH ROW EXECUTE FUNCTION gatehouse_events_append_only()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS gatehouse_events_append_only()")
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_anonymised_closed')
        batch_op.drop_column('anonymised_at')
    op.drop_table('delivery_attempts')
    op.drop_table('outbox')
    op.drop_table('events')
