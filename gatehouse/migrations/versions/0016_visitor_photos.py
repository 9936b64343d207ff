"""the visitor's photo taken at the desk

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'visitor_photos',
        sa.Column('work_order_id', sa.String(20), nullable=False),
        sa.Column('content_type', sa.String(20), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('taken_by', sa.String(40), nullable=False),
        sa.Column('taken_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], ondelete='CASCADE',
                                name=op.f('fk_visitor_photos_work_order_id_work_orders')),
        sa.PrimaryKeyConstraint('work_order_id', name=op.f('pk_visitor_photos')),
    )


def downgrade() -> None:
    op.drop_table('visitor_photos')
