"""Comments on work orders, by customers (POST /v1/comments) and operators (/ops)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.principal import AccountContext
from gatehouse.comments.models import Comment
from gatehouse.facility_access import lifecycle, repository
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import Conflict, NotFound
from gatehouse.kit.wire import fmt_datetime


def request_id_invalid() -> NotFound:
    return NotFound("The requestId does not identify a ticket of this account.", code="REQUEST_ID_INVALID")


async def add_comment(session: AsyncSession, ticket: WorkOrder, text: str, author: str, user_id: int | None) -> dict:
    """Shared by customers and operators: closed tickets take no more comments."""
    if ticket.status not in lifecycle.OPEN:
        raise Conflict(f"Work order {ticket.id} is '{ticket.status}' and takes no more comments.",
                       code="INVALID_TICKET_STATUS")
    comment = Comment(work_order_id=ticket.id, comment=text, commented_by=author, user_id=user_id,
                      created_at=utcnow())
    session.add(comment)
    await session.flush()
    return {"comment": comment.comment, "commentedBy": comment.commented_by,
            "commentedOn": fmt_datetime(comment.created_at)}


async def comment_as_customer(db: Database, ctx: AccountContext, request_id: str, text: str) -> dict:
    async with db.write() as session:
        ticket = await repository.get_ticket(session, ctx.account_id, request_id)
        if ticket is None:
            raise request_id_invalid()
        return await add_comment(session, ticket, text, ctx.display_name, ctx.user_id)
