"""Writing to the outbox (in the caller's transaction) and the channels that deliver from it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.kit.db import dialect_of, utcnow
from gatehouse.kit.leanwrite import OUTBOX_NOTIFY
from gatehouse.worker.models import OutboxMessage

NOTIFY_CHANNEL = OUTBOX_NOTIFY


def outbox_row(channel: str, payload: dict[str, Any], *, target: str = "", event_id: str = "",
               due: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A new outbox message's row (the ORM's enqueue and the lean write path store the same)."""
    now = now or utcnow()
    return {"channel": channel, "target": target[:320], "event_id": event_id,
            "payload": json.dumps(payload, separators=(",", ":")), "status": "pending", "attempts": 0,
            "next_attempt_at": due or now, "leased_by": "", "last_error": "", "created_at": now, "updated_at": now}


async def enqueue(session: AsyncSession, channel: str, payload: dict[str, Any], *, target: str = "",
                  event_id: str = "", due: datetime | None = None) -> OutboxMessage:
    """An outbox row in the caller's transaction: delivered only if that transaction commits, and
    then at least once. Workers are woken at commit (in-process signal; PostgreSQL NOTIFY)."""
    message = OutboxMessage(**outbox_row(channel, payload, target=target, event_id=event_id, due=due))
    session.add(message)
    if not session.info.get("outbox"):
        session.info["outbox"] = True  # kit.db.Database.write() wakes in-process workers after commit
        if dialect_of(session) == "postgresql":
            await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))  # delivered at commit, to every listener
    return message


class TemporaryFailure(Exception):
    """Try again later, on the channel's schedule (connection errors, timeouts, 4xx SMTP, 5xx HTTP)."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class PermanentFailure(TemporaryFailure):
    """No retry: the message is dead at once (5xx SMTP, HTTP 410, an address that can never work)."""


@dataclass
class Delivered:
    status: int | None = None
    body: str = ""


@dataclass(frozen=True)
class Message:
    """What a handler gets: the claimed row's fields."""

    id: int
    channel: str
    target: str
    event_id: str
    payload: dict[str, Any]
    attempts: int  # including this one


Handler = Callable[[Message], Awaitable[Delivered | None]]


@dataclass
class Channel:
    name: str
    handler: Handler
    schedule: Sequence[timedelta]  # waits before retries 1, 2, ...; then dead
    timeout: float = 30.0
    # called in the transaction that records each attempt's outcome ("delivered" | "retry" | "dead"),
    # with the response status: e.g. to disable an endpoint that answered 410 or failed for days
    on_outcome: Callable[[AsyncSession, Message, str, int | None], Awaitable[None]] | None = None
    # called as each worker starts and after it has stopped (e.g. to close a client's connections)
    on_start: Callable[[], None] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


channels: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    channels[channel.name] = channel
