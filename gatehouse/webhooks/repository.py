"""Webhook queries. Every lookup is scoped to its owner (an account, or an operator's sites) in the
statement itself: another owner's id is simply not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.kit import ownerlock
from gatehouse.kit.leanread import Rows
from gatehouse.webhooks.models import WebhookEndpoint
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

CHANNEL = "webhook"


@dataclass(frozen=True)
class Owner:
    """An account's endpoints, or those of a set of sites (an operator)."""

    account_id: str | None = None
    sites: frozenset[str] = frozenset()

    def clause(self):
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


# written once, run on the lean reader (the lean create) or in the change's session (SessionRows)
SUBSCRIBED = (select(WebhookEndpoint.id, WebhookEndpoint.event_types)
              .where(WebhookEndpoint.enabled.is_(True), or_(WebhookEndpoint.account_id == bindparam("account_id"),
                                                            WebhookEndpoint.site_code == bindparam("site_code")))
              .order_by(WebhookEndpoint.id))


# The owners' advisory locks: see kit/ownerlock.py (the keys are computed there, in Python).
def _shared(kind: int, name: str) -> Any:
    return func.pg_advisory_xact_lock_shared(literal_column(str(kind)), bindparam(name))


HOLD_ACCOUNT = select(_shared(ownerlock.ACCOUNT, "account_id"))
HOLD_SITE = select(_shared(ownerlock.SITE, "site_code"))
HOLD_BOTH = select(_shared(ownerlock.ACCOUNT, "account_id"), _shared(ownerlock.SITE, "site_code"))


async def subscribed(runner: Rows, account_id: str | None, site_code: str | None,
                     memo: dict[Any, Any] | None = None) -> list[tuple[str, str]]:
    """[(endpoint id, event_types JSON)] of the enabled endpoints that hear an event of this account
    or at this site (a NULL never equals: an event without an account reaches only site endpoints),
    read in the change's transaction after taking the owners' locks (unless the change holds them
    already: `memo`)."""
    if not account_id and not site_code:
        return []
    if runner.is_sqlite or (memo is not None and ownerlock.held_key(account_id, site_code) in memo):
        pass  # SQLite: the change is the one writer until it commits
    elif account_id and site_code:
        await runner.rows(HOLD_BOTH, account_id=ownerlock.key(account_id), site_code=ownerlock.key(site_code))
    elif account_id:
        await runner.rows(HOLD_ACCOUNT, account_id=ownerlock.key(account_id))
    elif site_code:
        await runner.rows(HOLD_SITE, site_code=ownerlock.key(site_code))
    return [(r["id"], r["event_types"]) for r in await runner.rows(SUBSCRIBED, account_id=account_id,
                                                                     site_code=site_code)]


@cache
def _hold_sites(count: int) -> Select:
    return select(_shared(ownerlock.ACCOUNT, "account_id"), *(_shared(ownerlock.SITE, f"site{i}") for i in range(count)))


async def hold_owners(runner: Rows, account_id: str, site_codes: Sequence[str], memo: dict[Any, Any]) -> None:
    """A create's holds in one statement: its account's and all its sites' locks (see HOLD_ACCOUNT)."""
    codes = sorted(set(site_codes))
    if runner.is_sqlite or not codes:
        return
    await runner.rows(_hold_sites(len(codes)), account_id=ownerlock.key(account_id),
                      **{f"site{i}": ownerlock.key(c) for i, c in enumerate(codes)})
    ownerlock.mark_held(memo, account_id, codes)


async def hold_owner(session: AsyncSession, *, account_id: str | None, site_code: str | None) -> None:
    """An endpoint's create or update: its owner's lock, exclusive (see HOLD_ACCOUNT): changes
    planned from now on see it, and those already planning commit first."""
    if session.get_bind().dialect.name == "sqlite":
        return
    if account_id:
        await session.execute(select(func.pg_advisory_xact_lock(ownerlock.ACCOUNT, ownerlock.key(account_id))))
    elif site_code:
        await session.execute(select(func.pg_advisory_xact_lock(ownerlock.SITE, ownerlock.key(site_code))))


async def endpoint_to_deliver(rows: Rows, endpoint_id: str) -> WebhookEndpoint | None:
    """Unscoped, for the worker at each delivery: a detached copy (nothing is written through it)."""
    return await rows.get(WebhookEndpoint, endpoint_id)


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
