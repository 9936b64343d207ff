"""Turns events into mail outbox rows, in the transaction of the change (subscribed to
`events.record`). Rendering and sending happen later, in the worker."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import AccountMembership, User
from gatehouse.events.service import Recorded
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.notifications.recipients import TicketFacts, mails_for
from gatehouse.worker.outbox import enqueue

CHANNEL = "mail"
TICKET_EVENTS = {"access_ticket.created", "access_ticket.approved", "access_ticket.denied",
                 "access_ticket.cancelled", "access_ticket.checked_in", "comment.created"}


async def approver_emails(session: AsyncSession, account_id: str) -> list[str]:
    rows = await session.execute(
        select(User.email, AccountMembership.permissions).join(AccountMembership, AccountMembership.user_id == User.id)
        .where(AccountMembership.account_id == account_id, User.email.is_not(None), User.disabled.is_(False)))
    return sorted(email for email, perms in rows if "visitor-access:approve" in perms.split())


async def on_event(session: AsyncSession, event: Recorded) -> None:
    if event.type not in TICKET_EVENTS or not event.object_id.startswith("WO"):
        return
    if event.type == "comment.created" and event.actor.kind != "operator":
        return
    ticket = await session.get(WorkOrder, event.object_id)
    if ticket is None:
        return
    requester_email = None
    if event.type == "access_ticket.denied" and ticket.created_by_user_id is not None:
        requester_email = (await session.execute(select(User.email).where(User.id == ticket.created_by_user_id))
                           ).scalar()
    approvers: list[str] = []
    if event.type == "access_ticket.created" and event.data.get("to") == "Pending Approval":
        approvers = await approver_emails(session, ticket.account_id)
    facts = TicketFacts(ticket.status, ticket.email_notifications or "", ticket.visitor_email, requester_email)
    for address, kind in mails_for(event.type, event.data, facts, approver_emails=approvers,
                                   actor_kind=event.actor.kind):
        payload = {"kind": kind, "to": address, "ticketId": ticket.id, "eventId": event.id,
                   "at": fmt_iso_ms(event.occurred_at), "actor": event.actor.name}
        for key in ("reason", "commentId", "badgeNumber"):
            if key in event.data:
                payload[key] = event.data[key]
        await enqueue(session, CHANNEL, payload, target=address, event_id=event.id)


async def webhook_disabled(session: AsyncSession, endpoint) -> None:  # type: ignore[no-untyped-def]
    """SPEC §11: an endpoint disabled after 5 days of failures: its owners are told (the account's
    webhooks:manage users, or the site's operators), each once."""
    import uuid

    from gatehouse.accounts.models import OperatorSite
    from gatehouse.kit.db import utcnow

    if endpoint.account_id:
        rows = await session.execute(
            select(User.email, AccountMembership.permissions).join(AccountMembership, AccountMembership.user_id == User.id)
            .where(AccountMembership.account_id == endpoint.account_id, User.email.is_not(None)))
        owners = {email.lower(): email for email, perms in rows if "webhooks:manage" in perms.split()}
    else:
        rows = await session.execute(select(User.email).join(OperatorSite, OperatorSite.user_id == User.id)
                                     .where(OperatorSite.site_code == endpoint.site_code, User.email.is_not(None)))
        owners = {email.lower(): email for (email,) in rows}
    event_id = str(uuid.uuid4())
    for address in sorted(owners.values()):
        await enqueue(session, CHANNEL, {"kind": "webhook_disabled", "to": address, "webhookId": endpoint.id,
                                         "url": endpoint.url, "reason": endpoint.disabled_reason or "",
                                         "eventId": event_id, "at": fmt_iso_ms(utcnow())},
                      target=address, event_id=event_id)
