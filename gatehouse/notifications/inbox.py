"""The notifications polling API (SPEC §13): one notification per account per event that mails the
notification list (the same rule as the mail, `recipients.mails_for`), written in the event's
transaction by the mail fan-out on both write paths; read, flagged and hidden by the account."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events.service import Recorded
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import NotFound
from gatehouse.kit.wire import fmt_datetime
from gatehouse.notifications.models import RETENTION_DAYS, AccountNotification
from gatehouse.notifications.recipients import TicketFacts, mails_for

_LIST = "notification-list@gatehouse.invalid"  # stands for the list: which kind would it get?

MESSAGES = {
    "request_received": "The {what} request for {visitor} at {site} from {start} was received and waits "
                        "for approval.",
    "approved": "The {what} for {visitor} at {site} from {start} was approved.",
    "denied": "The {what} request for {visitor} at {site} was denied.",
    "cancelled": "The {what} for {visitor} at {site} was cancelled.",
    "checked_in": "{visitor} checked in at {site}.",
    "operator_comment": "The site team commented on work order {wo}.",
    "overstayed": "{visitor} is still checked in at {site} after their access ended.",
    "badge_deactivated": "The permanent badge of {visitor} was deactivated because it was not used; a new "
                         "request gives access again.",
}


def list_kind(event: Recorded, ticket: WorkOrder) -> str | None:
    """The mail the notification list would get for this event (None: the event does not mail it)."""
    facts = TicketFacts(ticket.status, _LIST, "", None)
    for address, kind in mails_for(event.type, event.data, facts, actor_kind=event.actor.kind):
        if address == _LIST:
            return kind
    return None


def notification_row(event: Recorded, ticket: WorkOrder) -> dict[str, Any] | None:
    from gatehouse.notifications.render import SUBJECTS
    from gatehouse.notifications.render import words as kind_words

    kind = list_kind(event, ticket)
    if kind is None:
        return None
    words = {"wo": ticket.id, "site": ticket.site_code, "start": str(ticket.badge_start),
             "visitor": f"{ticket.visitor_first_name} {ticket.visitor_last_name}",
             **kind_words(ticket.request_type or "", ticket.ticket_category or "")}
    message = MESSAGES[kind].format(**words)
    if event.data.get("reason"):
        message += f" Reason: {event.data['reason']}"
    return {"id": uuid.uuid4().hex, "account_id": ticket.account_id, "event_id": event.id, "type": event.type,
            "title": SUBJECTS[kind].format(**words)[:300], "message": message, "ticket_id": ticket.id,
            "created_at": event.occurred_at, "read_flag": False, "delete_flag": False, "dcim": False}


def present(n: AccountNotification) -> dict[str, Any]:
    return {"notificationId": n.id, "type": n.type, "title": n.title, "message": n.message, "ticketId": n.ticket_id,
            "createdOn": fmt_datetime(n.created_at), "readFlag": bool(n.read_flag), "deleteFlag": bool(n.delete_flag)}


LIST_MAX = 1000  # newest first; a client polling with `timestamp` never needs more


async def listed(db: Database, account_id: str, type_: str | None, since: datetime | None) -> list[dict]:
    stmt = (select(AccountNotification)
            .where(AccountNotification.account_id == account_id, AccountNotification.delete_flag.is_(False))
            .order_by(AccountNotification.created_at.desc(), AccountNotification.id.desc()).limit(LIST_MAX))
    if type_:
        stmt = stmt.where(AccountNotification.type == type_)
    if since is not None:
        stmt = stmt.where(AccountNotification.created_at > since)
    async with db.read() as session:
        return [present(n) for n in (await session.execute(stmt)).scalars()]


def _not_found() -> NotFound:
    return NotFound("Resource not found.", code="NOTIFICATION_NOTFOUND")


async def _one(session: AsyncSession, account_id: str, notification_id: str) -> AccountNotification:
    found = (await session.execute(select(AccountNotification).where(
        AccountNotification.id == notification_id, AccountNotification.account_id == account_id,
        AccountNotification.delete_flag.is_(False)))).scalar_one_or_none()
    if found is None:
        raise _not_found()
    return found


async def one(db: Database, account_id: str, notification_id: str) -> dict:
    async with db.read() as session:
        return present(await _one(session, account_id, notification_id))


async def flag(db: Database, account_id: str, notification_id: str, changes: dict[str, bool]) -> dict:
    async with db.write() as session:
        found = await _one(session, account_id, notification_id)
        if changes:
            await session.execute(update(AccountNotification).where(AccountNotification.id == found.id)
                                  .values(**changes).execution_options(synchronize_session=False))
            for key, value in changes.items():
                setattr(found, key, value)
        return present(found)


async def purge_old(db: Database, *, days: int = RETENTION_DAYS) -> int:
    """Kept 90 days (SPEC §13)."""
    async with db.write() as session:
        done = await session.execute(delete(AccountNotification)
                                     .where(AccountNotification.created_at < utcnow() - timedelta(days=days)))
    return int(affected(done))
