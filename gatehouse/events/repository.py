"""Event queries: keyset pages (by `seq`) scoped to an account or to sites, streaming for the
export, and the retention purge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events.models import Event
from gatehouse.kit.db import affected, dialect_of


@dataclass(frozen=True)
class EventFilter:
    account_id: str | None = None
    sites: Collection[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    type: str | None = None
    object_id: str | None = None

    def apply(self, stmt):
        if self.account_id is not None:
            stmt = stmt.where(Event.account_id == self.account_id)
        if self.sites is not None:
            stmt = stmt.where(Event.site_code.in_(list(self.sites)))
        if self.since is not None:
            stmt = stmt.where(Event.occurred_at >= self.since)
        if self.until is not None:
            stmt = stmt.where(Event.occurred_at < self.until)
        if self.type is not None:
            stmt = stmt.where(Event.type == self.type)
        if self.object_id is not None:
            stmt = stmt.where(Event.object_id == self.object_id)
        return stmt


async def page(session: AsyncSession, where: EventFilter, *, after_seq: int, size: int,
               newest_first: bool = False) -> Sequence[Event]:
    """Oldest first after `after_seq`; or, for people reading the trail, newest first before it (0: the newest)."""
    if newest_first:
        stmt = where.apply(select(Event))
        if after_seq:
            stmt = stmt.where(Event.seq < after_seq)
        stmt = stmt.order_by(Event.seq.desc()).limit(size)
    else:
        stmt = where.apply(select(Event).where(Event.seq > after_seq)).order_by(Event.seq).limit(size)
    return (await session.execute(stmt)).scalars().all()


async def stream(session: AsyncSession, where: EventFilter, batch: int = 2000) -> AsyncIterator[Event]:
    """Every matching event, oldest first, in keyset batches: constant memory for any range."""
    after = 0
    while True:
        rows = await page(session, where, after_seq=after, size=batch)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].seq
        session.expunge_all()


async def purge_before(session: AsyncSession, cutoff: datetime, limit: int = 5000) -> int:
    """The one DELETE the append-only trigger lets through (PostgreSQL: for this transaction only)."""
    if dialect_of(session) == "postgresql":
        await session.execute(text("SET LOCAL gatehouse.purge = 'on'"))
    ids = select(Event.seq).where(Event.occurred_at < cutoff).order_by(Event.seq).limit(limit)
    result = await session.execute(delete(Event).where(Event.seq.in_(ids.scalar_subquery())))
    return affected(result)
