"""`record()`: the one function through which every change writes its event, in the caller's
transaction (a rolled-back change leaves no event; a committed one always has one). Fan-outs
registered by the channels (mail, webhooks) add their outbox rows in that same transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events.models import Event
from gatehouse.kit import context
from gatehouse.kit.context import SYSTEM, Actor
from gatehouse.kit.db import utcnow
from gatehouse.kit.wire import fmt_iso_ms

TYPES = frozenset({
    "access_ticket.created", "access_ticket.approved", "access_ticket.denied", "access_ticket.cancelled",
    "access_ticket.updated", "access_ticket.checked_in", "access_ticket.checked_out", "access_ticket.completed",
    "comment.created", "attachment.created", "attachment.deleted",
    "app.created", "app.secret_rotated", "app.disabled", "grant.changed",
    "auth.token_refused", "auth.locked_out", "auth.console_login", "auth.console_login_failed",
    "webhook.created", "webhook.updated", "webhook.deleted", "webhook.secret_rotated",
})


@dataclass(frozen=True)
class Recorded:
    """What fan-outs see of an event (and the wire shape of the trail)."""

    id: str
    type: str
    occurred_at: datetime
    actor: Actor
    account_id: str | None
    site_code: str | None
    object_id: str
    data: dict[str, Any] = field(default_factory=dict)
    correlation_id: str = ""
    ip: str = ""


FanOut = Callable[[AsyncSession, Recorded], Awaitable[None]]
_fanouts: list[FanOut] = []


def subscribe(fanout: FanOut) -> None:
    """Channels (mail, webhooks) register here at start-up; `record` calls each in the transaction."""
    if fanout not in _fanouts:
        _fanouts.append(fanout)


def unsubscribe(fanout: FanOut) -> None:
    if fanout in _fanouts:
        _fanouts.remove(fanout)


async def record(session: AsyncSession, type: str, *, object_id: str = "", account_id: str | None = None,
                 site_code: str | None = None, data: dict[str, Any] | None = None, actor: Actor | None = None,
                 at: datetime | None = None) -> Recorded:
    if type not in TYPES:
        raise ValueError(f"unknown event type {type}")
    who = actor or context.current_actor.get() or SYSTEM
    event = Recorded(id=str(uuid.uuid4()), type=type, occurred_at=at or utcnow(), actor=who, account_id=account_id,
                     site_code=site_code, object_id=object_id, data=data or {},
                     correlation_id=context.correlation_id.get(), ip=context.client_ip.get())
    session.add(Event(id=event.id, type=type, occurred_at=event.occurred_at, actor_kind=who.kind,
                      actor_name=who.name[:100], actor_client_id=who.client_id, account_id=account_id,
                      site_code=site_code, object_id=object_id, data=json.dumps(event.data, separators=(",", ":")),
                      correlation_id=event.correlation_id[:64], ip=event.ip[:45]))
    for fanout in list(_fanouts):
        await fanout(session, event)
    return event


def present(row: Event) -> dict[str, Any]:
    """The wire shape of an event (SPEC §9), for the API, the export and webhooks."""
    actor: dict[str, Any] = {"kind": row.actor_kind, "name": row.actor_name}
    if row.actor_client_id:
        actor["clientId"] = row.actor_client_id
    return {"id": row.id, "type": row.type, "occurredAt": fmt_iso_ms(row.occurred_at), "actor": actor,
            "accountId": row.account_id, "siteCode": row.site_code, "objectId": row.object_id,
            "data": json.loads(row.data or "{}"), "correlationId": row.correlation_id, "ip": row.ip}
