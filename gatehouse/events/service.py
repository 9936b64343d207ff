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
from gatehouse.events.types import EventType
from gatehouse.kit import context
from gatehouse.kit.context import SYSTEM, Actor
from gatehouse.kit.db import utcnow
from gatehouse.kit.leanwrite import Statement, insert
from gatehouse.kit.wire import fmt_iso_ms

TYPES = frozenset(EventType)  # events/types.py: the one vocabulary


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


def new_event(type: str, *, object_id: str = "", account_id: str | None = None, site_code: str | None = None,
              data: dict[str, Any] | None = None, actor: Actor | None = None, at: datetime | None = None
              ) -> Recorded:
    """An event of this request's actor, correlation id and address (not yet written)."""
    if type not in TYPES:
        raise ValueError(f"unknown event type {type}")
    who = actor or context.current_actor.get() or SYSTEM
    return Recorded(id=str(uuid.uuid4()), type=type, occurred_at=at or utcnow(), actor=who, account_id=account_id,
                    site_code=site_code, object_id=object_id, data=data or {},
                    correlation_id=context.correlation_id.get(), ip=context.client_ip.get())


def event_row(event: Recorded) -> dict[str, Any]:
    """The trail's row of an event: the one mapping both write paths store."""
    who = event.actor
    return {"id": event.id, "type": event.type, "occurred_at": event.occurred_at, "actor_kind": who.kind,
            "actor_name": who.name[:100], "actor_client_id": who.client_id, "account_id": event.account_id,
            "site_code": event.site_code, "object_id": event.object_id,
            "data": json.dumps(event.data, separators=(",", ":")), "correlation_id": event.correlation_id[:64],
            "ip": event.ip[:45]}


async def record(session: AsyncSession, type: str, *, object_id: str = "", account_id: str | None = None,
                 site_code: str | None = None, data: dict[str, Any] | None = None, actor: Actor | None = None,
                 at: datetime | None = None) -> Recorded:
    return await record_event(session, new_event(type, object_id=object_id, account_id=account_id,
                                                 site_code=site_code, data=data, actor=actor, at=at))


async def record_event(session: AsyncSession, event: Recorded) -> Recorded:
    """An event built by `new_event`, written with its fan-outs' rows in the session's transaction."""
    session.add(Event(**event_row(event)))
    for fanout in list(_fanouts):
        await fanout(session, event)
    return event


# --- the lean write path's fan-outs (kit/leanwrite.py) ------------------------------------------
# A change written by the lean path has no ORM session: each channel is asked beforehand which
# outbox rows the event makes, from facts the change already holds (`known`: e.g. the new ticket
# and a function building its wire shape) and reads of its own through the lean reader, kept in
# known["memo"] for the change's other events; the change then writes those rows in its one
# transaction with the event.


@dataclass(frozen=True)
class Planned:
    """An outbox row an event makes (worker.outbox.outbox_row builds the row)."""

    channel: str
    target: str
    payload: dict[str, Any]


Planner = Callable[[Any, Recorded, dict[str, Any]], Awaitable[list[Planned]]]
_planners: list[Planner] = []


def subscribe_planner(planner: Planner) -> None:
    if planner not in _planners:
        _planners.append(planner)


async def plan(reader: Any, event: Recorded, known: dict[str, Any]) -> list[Planned]:
    """Every channel's outbox rows for `event`, in subscription order."""
    out: list[Planned] = []
    for planner in list(_planners):
        out.extend(await planner(reader, event, known))
    return out


async def lean_statements(reader: Any, event: Recorded, known: dict[str, Any]) -> tuple[list[Statement], bool]:
    """`record` for the lean writer: the trail's row and the channels' outbox rows as statements,
    and whether there are outbox rows (the writer then wakes the workers)."""
    from gatehouse.worker.models import OutboxMessage
    from gatehouse.worker.outbox import outbox_row

    out = [insert(Event.__table__, event_row(event))]
    planned = await plan(reader, event, known)
    # a planner returns outbox rows, and may add rows of its own (the notifications API's copy)
    rows = [p for p in planned if isinstance(p, Planned)]
    out += [p for p in planned if isinstance(p, Statement)]  # type: ignore[misc]
    out += [insert(OutboxMessage.__table__, outbox_row(p.channel, p.payload, target=p.target, event_id=event.id,
                                                       now=event.occurred_at)) for p in rows]
    # a planner's own statements may queue too (an event it raised, with that event's rows)
    into_outbox = f"INSERT INTO {OutboxMessage.__tablename__} "
    return out, bool(rows) or any(s.into.startswith(into_outbox) for s in out)


def present(row: Event) -> dict[str, Any]:
    """The wire shape of an event (SPEC §9), for the API, the export and webhooks."""
    actor: dict[str, Any] = {"kind": row.actor_kind, "name": row.actor_name}
    if row.actor_client_id:
        actor["clientId"] = row.actor_client_id
    return {"id": row.id, "type": row.type, "occurredAt": fmt_iso_ms(row.occurred_at), "actor": actor,
            "accountId": row.account_id, "siteCode": row.site_code, "objectId": row.object_id,
            "data": json.loads(row.data or "{}"), "correlationId": row.correlation_id, "ip": row.ip}
