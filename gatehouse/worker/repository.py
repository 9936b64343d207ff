"""Outbox queries for operators (the admin CLI)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.kit.db import utcnow
from gatehouse.kit.errors import BadRequest, NotFound
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

STATUSES = ("pending", "delivered", "dead")


def _row(m: OutboxMessage) -> dict:
    return {"id": m.id, "channel": m.channel, "target": m.target, "eventId": m.event_id, "status": m.status,
            "attempts": m.attempts, "nextAttemptAt": fmt_iso_ms(m.next_attempt_at) if m.status == "pending" else None,
            "lastError": m.last_error, "createdAt": fmt_iso_ms(m.created_at)}


async def listing(session: AsyncSession, *, channel: str | None, status: str | None, limit: int) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if channel:
        stmt = stmt.where(OutboxMessage.channel == channel)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return [_row(m) for m in (await session.execute(stmt)).scalars()]


async def retry(session: AsyncSession, message_id: int, *, channel: str | None = None) -> dict:
    message = await session.get(OutboxMessage, message_id)
    if message is None or (channel and message.channel != channel):
        raise NotFound(f"no {channel or 'outbox'} message {message_id}")
    if message.status == "delivered":
        raise BadRequest(f"message {message_id} was delivered; nothing to retry")
    message.status = "pending"
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.lease_until = None
    message.leased_by = ""
    session.info["outbox"] = True  # wake in-process workers
    return _row(message)


async def attempts_of(session: AsyncSession, message_id: int) -> int:
    return (await session.execute(select(func.count()).select_from(DeliveryAttempt)
                                  .where(DeliveryAttempt.message_id == message_id))).scalar() or 0
