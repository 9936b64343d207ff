"""Comments on work orders, by customers (POST /v1/comments) and operators (/ops)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.principal import AccountContext
from gatehouse.comments import repository
from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import BadRequest, NotFound
from gatehouse.kit.wire import fmt_datetime

MAX_LENGTH = 4000


def request_id_invalid() -> NotFound:
    return NotFound("The requestId does not identify a ticket of this account.", code="REQUEST_ID_INVALID")


async def add_comment(session: AsyncSession, ticket: WorkOrder, text: str, author: str, user_id: int | None) -> dict:
    """Shared by customers and operators (API and CLI): closed tickets take no more comments.
    The caller owns the transaction and has already scoped the ticket lookup."""
    if not 1 <= len(text) <= MAX_LENGTH:
        raise BadRequest(f"A comment must be 1-{MAX_LENGTH} characters.", code="CONSTRAINT_VIOLATION")
    lifecycle.ensure_open(ticket, "comments")
    comment = await repository.insert(session, ticket.id, text, author, user_id, utcnow())
    await events.record(session, "comment.created", object_id=ticket.id, account_id=ticket.account_id,
                        site_code=ticket.site_code, data={"commentId": comment.id}, at=comment.created_at)
    return present(comment)


def present(comment) -> dict:
    """A comment's wire shape (API, operator API, webhooks)."""
    return {"comment": comment.comment, "commentedBy": comment.commented_by,
            "commentedOn": fmt_datetime(comment.created_at)}


async def comment_as_customer(db: Database, ctx: AccountContext, request_id: str, text: str) -> dict:
    async with db.write() as session:
        ticket = await repository.ticket_of_account(session, ctx.account_id, request_id)
        if ticket is None:
            raise request_id_invalid()
        return await add_comment(session, ticket, text, ctx.display_name, ctx.user_id)
