"""Site and location queries, always scoped to an account's grants."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.sites.models import AccountLocation, AccountSite, Location, Site


async def granted_sites(session: AsyncSession, account_id: str) -> list[Site]:
    rows = await session.execute(
        select(Site).join(AccountSite, AccountSite.site_code == Site.code)
        .where(AccountSite.account_id == account_id).order_by(Site.code)
    )
    return list(rows.scalars())


# written once; run on the lean reader (the create and list paths) or in a session (SessionRows)
GRANTED_SITE = (select(Site.code, Site.address, Site.timezone).join(AccountSite, AccountSite.site_code == Site.code)
                .where(AccountSite.account_id == bindparam("account_id"), Site.code == bindparam("site_code")))
# the site if the account is granted it, with every location of it and whether the account holds a
# grant on it (`granted` not null): one row per location (one of nulls for a site with none), none
# when the site is not granted. One statement: the create reads it for each of its sites.
GRANTED_SITE_LOCATIONS = (
    select(Site.code, Site.address, Site.timezone, Location.id, Location.name, Location.parent_id,
           AccountLocation.location_id.label("granted"), Location.kind)
    .join(AccountSite, AccountSite.site_code == Site.code)
    .outerjoin(Location, Location.site_code == Site.code)
    .outerjoin(AccountLocation, and_(AccountLocation.location_id == Location.id,
                                     AccountLocation.account_id == bindparam("account_id")))
    .where(AccountSite.account_id == bindparam("account_id"), Site.code == bindparam("site_code"))
    .order_by(Location.id))


async def granted_site(runner, account_id: str, site_code: str) -> dict | None:
    """The site (code, address, timezone) if the account is granted it, else None."""
    found = await runner.rows(GRANTED_SITE, account_id=account_id, site_code=site_code)
    return found[0] if found else None


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
    return _visible([(r[0], r[1], r[2]) for r in all_rows], granted)


def _visible(all_rows: list[tuple[int, str, int | None]], granted: set[int]) -> list[VisibleLocation]:
    """The rule: granted locations and all their descendants, in id order."""
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


POP_POE = "pop-poe"  # a location kind: the site's shared carrier rooms (SPEC §13)


@dataclass(frozen=True, slots=True)
class GrantedSite:
    code: str
    address: str
    timezone: str
    locations: list[VisibleLocation]
    # the site's PoP/POE rooms: requestable by every account granted the site (with pop-poe:request)
    pop_poe_rooms: dict[str, int] = field(default_factory=dict)


def granted_site_read(account_id: str, site_code: str) -> tuple[Any, dict[str, Any]]:
    """`granted_site_lean`'s one read, for a caller that makes its reads ahead (LeanReader.read_ahead)."""
    return GRANTED_SITE_LOCATIONS, {"account_id": account_id, "site_code": site_code}


async def granted_site_lean(reader, account_id: str, site_code: str) -> GrantedSite | None:
    """`granted_site` and `visible_locations` in one query through the lean reader (the create
    path, SPEC §7): the site if granted, and every location of it with whether the account holds it."""
    found = await reader.rows(GRANTED_SITE_LOCATIONS, **granted_site_read(account_id, site_code)[1])
    if not found:
        return None
    rows = [r for r in found if r["id"] is not None]
    locations = _visible([(r["id"], r["name"], r["parent_id"]) for r in rows],
                         {r["id"] for r in rows if r["granted"] is not None})
    site = found[0]
    return GrantedSite(site["code"], site["address"], site["timezone"], locations,
                       {r["name"]: r["id"] for r in rows if r["kind"] == POP_POE})


async def all_sites(session: AsyncSession) -> list[dict]:
    from gatehouse.sites.models import Site

    return [{"site": s.code, "city": s.city, "timezone": s.timezone}
            for s in (await session.execute(select(Site).order_by(Site.code))).scalars()]


async def locations_of_site(session: AsyncSession, site_code: str) -> list[dict]:
    from gatehouse.sites.models import Location

    rows = await session.execute(select(Location.id, Location.name, Location.parent_id, Location.kind)
                                 .where(Location.site_code == site_code).order_by(Location.id))
    return [{"id": r[0], "location": r[1], "parentId": r[2], "kind": r[3]} for r in rows]


async def pop_poe_rooms(session: AsyncSession, site_code: str) -> list[str]:
    """A site's PoP/POE rooms: every account granted the site may request them (SPEC §13)."""
    return list((await session.execute(select(Location.name).where(Location.site_code == site_code,
                                                                   Location.kind == POP_POE)
                                       .order_by(Location.id))).scalars())


async def sites_page(session: AsyncSession, q: str, page: int, size: int) -> tuple[list[Site], int]:
    """The operator admin's list of sites (SPEC §16), searched by code, city or address."""
    from sqlalchemy import func, or_

    like = "%" + q.lower().replace("%", "").replace("_", "") + "%"
    where = [or_(func.lower(Site.code).like(like), func.lower(Site.city).like(like),
                 func.lower(Site.address).like(like))] if q else []
    total = (await session.execute(select(func.count()).select_from(Site).where(*where))).scalar() or 0
    rows = (await session.execute(select(Site).where(*where).order_by(Site.code).limit(size).offset(page * size))
            ).scalars().all()
    return list(rows), total


async def site_grants(session: AsyncSession, site_code: str) -> list[tuple[str, str, list[str]]]:
    """(account id, account name, granted location names) of every account granted the site."""
    from gatehouse.accounts.models import Account

    accounts = (await session.execute(select(Account.id, Account.name).join(AccountSite, AccountSite.account_id == Account.id)
                                      .where(AccountSite.site_code == site_code).order_by(Account.name))).all()
    locs = (await session.execute(select(AccountLocation.account_id, Location.name)
                                  .join(Location, Location.id == AccountLocation.location_id)
                                  .where(Location.site_code == site_code).order_by(Location.name))).all()
    return [(a, name, [n for acc, n in locs if acc == a]) for a, name in accounts]
