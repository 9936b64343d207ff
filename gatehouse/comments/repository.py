"""Comment queries. The ticket lookup is scoped to the caller's account in the statement itself,
so a foreign work order can never be told apart from one that does not exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.comments.models import Comment
from gatehouse.facility_access.models import WorkOrder
from gatehouse.facility_access.repository import WORK_ORDER_ID


async def ticket_of_account(session: AsyncSession, account_id: str, request_id: str) -> WorkOrder | None:
    """The account's ticket, share-locked on PostgreSQL so a concurrent close waits for the
    comment's commit (a comment never lands after the ticket closed)."""
    if not WORK_ORDER_ID.match(request_id):
        return None
    stmt = (select(WorkOrder).where(WorkOrder.account_id == account_id, WorkOrder.id == request_id)
            .with_for_update(read=True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert(session: AsyncSession, ticket_id: str, text: str, author: str, user_id: int | None,
                 at: datetime) -> Comment:
    comment = Comment(work_order_id=ticket_id, comment=text, commented_by=author, user_id=user_id, created_at=at)
    session.add(comment)
    await session.flush()
    return comment
