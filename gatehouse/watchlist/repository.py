"""Watchlist queries. An operator sees the entries for every site and those of their own sites."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.watchlist.models import SecurityHold, WatchlistEntry, WatchlistVersion


def _visible(sites: Collection[str]):
    return or_(WatchlistEntry.site_code.is_(None), WatchlistEntry.site_code.in_(sorted(sites)))


async def get(session: AsyncSession, sites: Collection[str], entry_id: str) -> WatchlistEntry | None:
    return (await session.execute(select(WatchlistEntry).where(WatchlistEntry.id == entry_id, _visible(sites)))
            ).scalar_one_or_none()


async def page(session: AsyncSession, sites: Collection[str], *, search: str, page: int, size: int
               ) -> tuple[Sequence[WatchlistEntry], int]:
    where = [_visible(sites)]
    if search:
        like = f"%{search.lower()}%"
        where.append(or_(func.lower(WatchlistEntry.first_name).like(like), func.lower(WatchlistEntry.last_name).like(like),
                         func.lower(func.coalesce(WatchlistEntry.email, "")).like(like)))
    total = (await session.execute(select(func.count()).select_from(WatchlistEntry).where(*where))).scalar() or 0
    rows = (await session.execute(select(WatchlistEntry).where(*where)
                                  .order_by(WatchlistEntry.last_name, WatchlistEntry.first_name, WatchlistEntry.id)
                                  .limit(size).offset(page * size))).scalars().all()
    return rows, total


async def bump_version(session: AsyncSession) -> None:
    await session.execute(update(WatchlistVersion).where(WatchlistVersion.id == 1)
                          .values(value=WatchlistVersion.value + 1))


async def hold_of(session: AsyncSession, ticket_id: str, *, lock: bool = False) -> SecurityHold | None:
    stmt = select(SecurityHold).where(SecurityHold.work_order_id == ticket_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def holds_of(session: AsyncSession, ticket_ids: Collection[str]) -> dict[str, SecurityHold]:
    if not ticket_ids:
        return {}
    rows = await session.execute(select(SecurityHold).where(SecurityHold.work_order_id.in_(sorted(ticket_ids))))
    return {h.work_order_id: h for h in rows.scalars()}
