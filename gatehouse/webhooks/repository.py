"""Webhook queries. Every lookup is scoped to its owner (an account, or an operator's sites) in the
statement itself: another owner's id is simply not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.webhooks.models import WebhookEndpoint
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

CHANNEL = "webhook"


@dataclass(frozen=True)
class Owner:
    """An account's endpoints, or those of a set of sites (an operator)."""

    account_id: str | None = None
    sites: frozenset[str] = frozenset()

    def clause(self):  # type: ignore[no-untyped-def]
        if self.account_id is not None:
            return WebhookEndpoint.account_id == self.account_id
        return WebhookEndpoint.site_code.in_(sorted(self.sites)) if self.sites else WebhookEndpoint.id.is_(None)


async def get(session: AsyncSession, owner: Owner, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, owner.clause())
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def listing(session: AsyncSession, owner: Owner) -> Sequence[WebhookEndpoint]:
    return (await session.execute(select(WebhookEndpoint).where(owner.clause())
                                  .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))).scalars().all()


async def count(session: AsyncSession, *, account_id: str | None, site_code: str | None) -> int:
    clause = WebhookEndpoint.account_id == account_id if account_id else WebhookEndpoint.site_code == site_code
    return (await session.execute(select(func.count()).select_from(WebhookEndpoint).where(clause))).scalar() or 0


async def subscribed(session: AsyncSession, account_id: str | None, site_code: str | None) -> Sequence[WebhookEndpoint]:
    """Enabled endpoints that hear an event of this account or at this site (one indexed query)."""
    clauses = []
    if account_id:
        clauses.append(WebhookEndpoint.account_id == account_id)
    if site_code:
        clauses.append(WebhookEndpoint.site_code == site_code)
    if not clauses:
        return []
    return (await session.execute(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True), or_(*clauses))
                                  )).scalars().all()


async def subscribed_lean(reader, account_id: str | None, site_code: str | None) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """`subscribed` through the lean reader: [(endpoint id, event_types JSON)] (a NULL never equals)."""
    sql = ("SELECT id, event_types FROM webhook_endpoints WHERE enabled = {t} AND (account_id = {a} OR site_code = {s})"
           " ORDER BY id")
    rows = await reader.fetch(sql.format(t="1", a="?", s="?"), sql.format(t="true", a="$1", s="$2"),
                              account_id, site_code)
    return [(r[0], r[1]) for r in rows]


async def endpoint_by_id(session: AsyncSession, endpoint_id: str) -> WebhookEndpoint | None:
    """Unscoped, for the worker (the owner was checked when the delivery was queued)."""
    return await session.get(WebhookEndpoint, endpoint_id)


async def deliveries(session: AsyncSession, endpoint_id: str, *, before_attempt: int | None, size: int
                     ) -> Sequence[tuple[DeliveryAttempt | None, OutboxMessage]]:
    """Newest first: every attempt, with its delivery's current state; keyset on the attempt id."""
    stmt = (select(DeliveryAttempt, OutboxMessage).join(OutboxMessage, OutboxMessage.id == DeliveryAttempt.message_id)
            .where(OutboxMessage.channel == CHANNEL, OutboxMessage.target == endpoint_id)
            .order_by(DeliveryAttempt.id.desc()).limit(size))
    if before_attempt is not None:
        stmt = stmt.where(DeliveryAttempt.id < before_attempt)
    return [(a, m) for a, m in (await session.execute(stmt)).all()]


async def waiting(session: AsyncSession, endpoint_id: str, limit: int = 100) -> Sequence[OutboxMessage]:
    """Deliveries queued but not yet attempted."""
    return (await session.execute(select(OutboxMessage).where(
        OutboxMessage.channel == CHANNEL, OutboxMessage.target == endpoint_id, OutboxMessage.attempts == 0,
        OutboxMessage.status == "pending").order_by(OutboxMessage.id.desc()).limit(limit))).scalars().all()


async def delivery(session: AsyncSession, endpoint_id: str, delivery_id: int) -> OutboxMessage | None:
    return (await session.execute(select(OutboxMessage).where(
        OutboxMessage.id == delivery_id, OutboxMessage.channel == CHANNEL, OutboxMessage.target == endpoint_id)
    )).scalar_one_or_none()


def owners_of(sites: Collection[str]) -> Owner:
    return Owner(sites=frozenset(sites))
