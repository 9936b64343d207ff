"""Site and location queries, always scoped to an account's grants."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.sites.models import AccountLocation, AccountSite, Location, Site


async def granted_sites(session: AsyncSession, account_id: str) -> list[Site]:
    rows = await session.execute(
        select(Site).join(AccountSite, AccountSite.site_code == Site.code)
        .where(AccountSite.account_id == account_id).order_by(Site.code)
    )
    return list(rows.scalars())


async def granted_site(session: AsyncSession, account_id: str, site_code: str) -> Site | None:
    row = await session.execute(
        select(Site).join(AccountSite, AccountSite.site_code == Site.code)
        .where(AccountSite.account_id == account_id, Site.code == site_code)
    )
    return row.scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class VisibleLocation:
    id: int
    name: str
    parent_id: int | None  # None when the parent is not visible to the account


async def visible_locations(session: AsyncSession, account_id: str, site_code: str) -> list[VisibleLocation]:
    """The granted locations of a site with all their descendants (a grant covers children)."""
    all_rows = (await session.execute(
        select(Location.id, Location.name, Location.parent_id).where(Location.site_code == site_code)
        .order_by(Location.id)
    )).all()
    granted = set((await session.execute(
        select(AccountLocation.location_id).join(Location, Location.id == AccountLocation.location_id)
        .where(AccountLocation.account_id == account_id, Location.site_code == site_code)
    )).scalars())
    if not granted:
        return []
    children: dict[int | None, list[int]] = {}
    for loc_id, _name, parent in all_rows:
        children.setdefault(parent, []).append(loc_id)
    visible: set[int] = set()
    stack = list(granted)
    while stack:
        node = stack.pop()
        if node in visible:
            continue
        visible.add(node)
        stack.extend(children.get(node, ()))
    return [
        VisibleLocation(loc_id, name, parent if parent in visible else None)
        for loc_id, name, parent in all_rows if loc_id in visible
    ]


async def all_sites(session: AsyncSession) -> list[dict]:
    from gatehouse.sites.models import Site

    return [{"site": s.code, "city": s.city, "timezone": s.timezone}
            for s in (await session.execute(select(Site).order_by(Site.code))).scalars()]


async def locations_of_site(session: AsyncSession, site_code: str) -> list[dict]:
    from gatehouse.sites.models import Location

    rows = await session.execute(select(Location.id, Location.name, Location.parent_id)
                                 .where(Location.site_code == site_code).order_by(Location.id))
    return [{"id": r[0], "location": r[1], "parentId": r[2]} for r in rows]
