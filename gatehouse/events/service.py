"""`record()`: the one function through which every change writes its event, in the caller's
transaction (a rolled-back change leaves no event; a committed one always has one). The channels'
planners (mail, webhooks, screening, metrics) add what the event makes in that same transaction,
on either write path."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import FromClause, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events.models import Event
from gatehouse.events.types import EventType
from gatehouse.kit import context
from gatehouse.kit.context import SYSTEM, Actor
from gatehouse.kit.db import utcnow
from gatehouse.kit.leanread import AheadRows, Rows, SessionRows, read_key
from gatehouse.kit.leanwrite import Statement
from gatehouse.kit.leanwrite import insert as lean_insert
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
    """An event built by `new_event`, written with what its planners make, in the session's
    transaction (the ORM write path; `statements_of` is the lean one's)."""
    from gatehouse.worker.outbox import enqueue

    session.add(Event(**event_row(event)))
    await session.flush()  # the change's rows are what the planners read
    for made in await plan(SessionRows(session), event, {}):
        if isinstance(made, Planned):
            await enqueue(session, made.channel, made.payload, target=made.target, event_id=event.id)
        elif isinstance(made, NewRow):
            await session.execute(insert(cast(Table, made.table)), [made.values])
        else:
            await record_event(session, made)
    return event


# --- the one fan-out: planners ------------------------------------------------------------------
# Each channel (mail, webhooks, the watchlist's screening, metrics) is a planner: asked, inside the
# change's transaction, what an event makes — outbox rows, rows of its own, further events — with a
# reader of that transaction (`Rows`) and the facts the change already holds (`known`: the lean
# create passes the new ticket, its wire shape's builder and a memo its tickets share; the ORM path
# passes nothing and the planner reads). Both write paths then write what was planned their way:
# `record_event` through the session, `statements_of` as the lean writer's statements.


@dataclass(frozen=True)
class Planned:
    """An outbox row an event makes (worker.outbox.outbox_row builds the row)."""

    channel: str
    target: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class NewRow:
    """A row of a planner's own table (the notifications API's copy, a security hold)."""

    table: FromClause  # a model's __table__
    values: dict[str, Any]


Made = Planned | NewRow | Recorded  # a Recorded: a further event of the same change (a watchlist hit)
Planner = Callable[[Rows, Recorded, dict[str, Any]], Awaitable[list[Made]]]
# A planner may say ahead which reads it will make of an event: (event, known) -> [(statement,
# params)]. The lean create asks them all first and sends them in one round trip (`read_ahead`); the
# planners then find their rows already read. A wrong guess costs only its read: a read not made
# ahead is made as before.
Ahead = Callable[[Recorded, dict[str, Any]], list[tuple[Any, dict[str, Any]]]]
_planners: list[Planner] = []
_aheads: dict[Planner, Ahead] = {}


def subscribe(planner: Planner, ahead: Ahead | None = None) -> None:
    """Channels register here at start-up; every event of every write path is planned by each."""
    if planner not in _planners:
        _planners.append(planner)
    if ahead is not None:
        _aheads[planner] = ahead


def unsubscribe(planner: Planner) -> None:
    if planner in _planners:
        _planners.remove(planner)
    _aheads.pop(planner, None)


async def read_ahead(rows: Any, planned: Sequence[tuple[Recorded, dict[str, Any]]]) -> Rows:
    """`rows` (a lean transaction's TxRows) with every planner's reads of these events made at once."""
    reads: dict[Any, tuple[Any, dict[str, Any]]] = {}
    for event, known in planned:
        for planner in _planners:
            ahead = _aheads.get(planner)
            for stmt, params in ahead(event, known) if ahead is not None else ():
                reads.setdefault(read_key(stmt, params), (stmt, params))
    if len(reads) < 2 or rows.is_sqlite:
        return rows  # nothing to save
    found = await rows.many(list(reads.values()))
    return AheadRows(rows, dict(zip(reads, found, strict=True)))


async def plan(rows: Rows, event: Recorded, known: dict[str, Any]) -> list[Made]:
    """What every channel makes of `event`, in subscription order."""
    out: list[Made] = []
    for planner in list(_planners):
        out.extend(await planner(rows, event, known))
    return out


async def statements_of(rows: Rows, event: Recorded, known: dict[str, Any]) -> tuple[list[Statement], bool]:
    """`record_event` for the lean writer, inside its transaction: the trail's row and what the
    planners make, as statements; and whether they queue outbox rows (the writer wakes workers)."""
    from gatehouse.worker.models import OutboxMessage
    from gatehouse.worker.outbox import outbox_row

    out = [lean_insert(Event.__table__, event_row(event))]
    queued = False
    for made in await plan(rows, event, known):
        if isinstance(made, Planned):
            out.append(lean_insert(OutboxMessage.__table__, outbox_row(made.channel, made.payload, target=made.target,
                                                                  event_id=event.id, now=event.occurred_at)))
            queued = True
        elif isinstance(made, NewRow):
            out.append(lean_insert(made.table, made.values))
        else:
            more, more_queued = await statements_of(rows, made, known)
            out += more
            queued = queued or more_queued
    return out, queued


def present(row: Event) -> dict[str, Any]:
    """The wire shape of an event (SPEC §9), for the API, the export and webhooks."""
    actor: dict[str, Any] = {"kind": row.actor_kind, "name": row.actor_name}
    if row.actor_client_id:
        actor["clientId"] = row.actor_client_id
    return {"id": row.id, "type": row.type, "occurredAt": fmt_iso_ms(row.occurred_at), "actor": actor,
            "accountId": row.account_id, "siteCode": row.site_code, "objectId": row.object_id,
            "data": json.loads(row.data or "{}"), "correlationId": row.correlation_id, "ip": row.ip}
