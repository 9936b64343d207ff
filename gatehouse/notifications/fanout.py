"""Turns events into mail outbox rows, in the transaction of the change (subscribed to
`events.record`). Rendering and sending happen later, in the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import AccountMembership, OperatorSite, User
from gatehouse.events.service import Made, NewRow, Planned, Recorded
from gatehouse.events.types import MAILED, EventType
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.leanread import Rows
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.notifications.inbox import notification_row
from gatehouse.notifications.models import AccountNotification
from gatehouse.notifications.recipients import TicketFacts, mails_for
from gatehouse.worker.outbox import enqueue

CHANNEL = "mail"
TICKET_EVENTS = MAILED  # events/types.py


# Statements written once; each runs on the lean reader (the lean create) or in the change's own
# session (SessionRows), so both write paths ask the same question the same way (issue 21)
APPROVERS = (select(User.email, AccountMembership.permissions)
             .join(AccountMembership, AccountMembership.user_id == User.id)
             .where(AccountMembership.account_id == bindparam("account_id"), User.email.is_not(None),
                    User.disabled.is_(False)))
USER_EMAIL = select(User.email).where(User.id == bindparam("user_id"))


async def approver_emails(runner: Rows, account_id: str, permission: str = "visitor-access:approve") -> list[str]:
    return sorted(r["email"] for r in await runner.rows(APPROVERS, account_id=account_id)
                  if permission in r["permissions"].split())


async def requester_email(runner: Rows, event: Recorded, ticket: WorkOrder) -> str | None:
    """A denial is mailed to whoever asked too (SPEC §10)."""
    if event.type != EventType.TICKET_DENIED or ticket.created_by_user_id is None:
        return None
    found = await runner.rows(USER_EMAIL, user_id=ticket.created_by_user_id)
    return found[0]["email"] if found else None


def _wanted(event: Recorded) -> bool:
    if event.type not in TICKET_EVENTS or not event.object_id.startswith("WO"):
        return False
    return event.type != EventType.COMMENT_CREATED or event.actor.kind == "operator"


# written once; run by the lean reader (the lean create) or in the change's session (SessionRows)
SITE_OPERATOR_EMAILS = (select(User.email).join(OperatorSite, OperatorSite.user_id == User.id)
                        .where(OperatorSite.site_code == bindparam("site_code"), User.email.is_not(None),
                               User.disabled.is_(False)))
# the events the site's own operators are written about
TO_SITE_OPERATORS = frozenset({EventType.TICKET_OVERSTAYED, EventType.WATCHLIST_HIT})


async def site_operator_emails(runner: Rows, site_code: str) -> list[str]:
    return sorted(r["email"] for r in await runner.rows(SITE_OPERATOR_EMAILS, site_code=site_code))


def _needs_approvers(event: Recorded) -> bool:
    return event.type == EventType.TICKET_CREATED and event.data.get("to") == Status.PENDING


def _mails(event: Recorded, ticket: WorkOrder, requester_email: str | None, approvers: list[str]
           ) -> list[tuple[str, dict]]:
    """[(address, outbox payload)] of one ticket event: the one place both write paths ask."""
    # a terminate work order names the visitor whose access ends: they get no pass for it
    visitor = ticket.visitor_email if lifecycle.issues_pass(ticket) else ""
    facts = TicketFacts(ticket.status, ticket.email_notifications or "", visitor, requester_email,
                        getattr(ticket, "host_email", "") or "")
    out = []
    for address, kind in mails_for(event.type, event.data, facts, approver_emails=approvers,
                                   actor_kind=event.actor.kind):
        # the status as this event left it: a mail says what its event says, not what the ticket
        # became by the time the worker sends it
        payload = {"kind": kind, "to": address, "ticketId": ticket.id, "eventId": event.id,
                   "at": fmt_iso_ms(event.occurred_at), "actor": event.actor.name, "status": ticket.status}
        for key in ("reason", "commentId", "badgeNumber", "entryId", "matchedOn"):
            if key in event.data:
                payload[key] = event.data[key]
        out.append((address, payload))
    return out


async def plan(rows: Rows, event: Recorded, known: dict[str, Any]) -> list[Made]:
    """The mail rows of an event, and the notifications API's copy, in the change's transaction:
    the lean create passes the new ticket in `known`; otherwise it is read."""
    if not _wanted(event):
        return []
    ticket = known.get("ticket")
    if ticket is None or ticket.id != event.object_id:
        ticket = await rows.get(WorkOrder, event.object_id)
        if ticket is None:
            return []
    approvers: list[str] = []
    if _needs_approvers(event):
        memo = known.setdefault("memo", {})  # one read per create, however many tickets it makes
        permission = lifecycle.approver_permission(ticket)
        key = ("approvers", ticket.account_id, permission)
        if key not in memo:
            memo[key] = await approver_emails(rows, ticket.account_id, permission)
        approvers = memo[key]
    if event.type in TO_SITE_OPERATORS:  # the desk of the site hears of it too
        approvers = await site_operator_emails(rows, ticket.site_code)
    made: list[Made] = [Planned(CHANNEL, address, payload) for address, payload in
                        _mails(event, ticket, await requester_email(rows, event, ticket), approvers)]
    row = notification_row(event, ticket)
    if row is not None:  # the polling API's copy, in the same transaction
        made.append(NewRow(AccountNotification.__table__, row))
    return made


def ahead(event: Recorded, known: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The read `plan` will make of a create's event (events.read_ahead): the account's approvers."""
    ticket = known.get("ticket")
    if ticket is None or ticket.id != event.object_id or not _wanted(event) or not _needs_approvers(event):
        return []
    return [(APPROVERS, {"account_id": ticket.account_id})]


async def webhook_disabled(session: AsyncSession, endpoint) -> None:
    """SPEC §11: an endpoint disabled after 5 days of failures: its owners are told (the account's
    webhooks:manage users, or the site's operators), each once."""
    import uuid

    from gatehouse.accounts.models import OperatorSite
    from gatehouse.kit.db import utcnow

    if endpoint.account_id:
        rows = await session.execute(
            select(User.email, AccountMembership.permissions).join(AccountMembership, AccountMembership.user_id == User.id)
            .where(AccountMembership.account_id == endpoint.account_id, User.email.is_not(None)))
        owners = {email.lower(): email for email, perms in rows if email and "webhooks:manage" in perms.split()}
    else:
        operators = await session.execute(select(User.email).join(OperatorSite, OperatorSite.user_id == User.id)
                                          .where(OperatorSite.site_code == endpoint.site_code, User.email.is_not(None)))
        owners = {email.lower(): email for (email,) in operators if email}
    event_id = str(uuid.uuid4())
    for address in sorted(owners.values()):
        await enqueue(session, CHANNEL, {"kind": "webhook_disabled", "to": address, "webhookId": endpoint.id,
                                         "url": endpoint.url, "reason": endpoint.disabled_reason or "",
                                         "eventId": event_id, "at": fmt_iso_ms(utcnow())},
                      target=address, event_id=event_id)
