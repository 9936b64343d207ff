"""Administration of sites, location trees and site/location grants to accounts."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.service import get_account
from gatehouse.events import service as events
from gatehouse.kit.epoch import bump_security_epoch
from gatehouse.kit.errors import BadRequest, Conflict, NotFound
from gatehouse.sites.models import AccountLocation, AccountSite, Location, Site

_SITE_CODE = re.compile(r"^[A-Za-z0-9]{6}$")


async def create_site(session: AsyncSession, code: str, *, address: str = "", city: str = "", metro: str = "",
                      country: str = "", timezone: str = "UTC") -> Site:
    if not _SITE_CODE.match(code):
        raise BadRequest("site code must be exactly 6 letters or digits")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"'{timezone}' is not an IANA timezone") from None
    if await session.get(Site, code):
        raise Conflict(f"site {code} already exists")
    site = Site(code=code, address=address, city=city, metro=metro, country=country, timezone=timezone)
    session.add(site)
    await session.flush()
    await events.record(session, "site.changed", object_id=code, site_code=code,
                        data={"change": "created", "timezone": timezone})
    return site


async def get_site(session: AsyncSession, code: str) -> Site:
    site = await session.get(Site, code)
    if site is None:
        raise NotFound(f"site {code} does not exist")
    return site


async def get_location(session: AsyncSession, site_code: str, name: str) -> Location:
    row = (await session.execute(
        select(Location).where(Location.site_code == site_code, Location.name == name))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"location '{name}' does not exist in site {site_code}")
    return row


async def set_site(session: AsyncSession, code: str, *, require_identity_check: bool | None = None,
                   require_escort_confirmation: bool | None = None, arrival_instructions: str | None = None,
                   rules_markdown: str | None = None, require_pre_check_in: bool | None = None) -> Site:
    """A site's desk requirements, its arrival instructions and its rules document (a new version
    each time it changes); every change an event."""
    from gatehouse.kit.db import utcnow
    from gatehouse.sites.models import SiteRules

    site = await get_site(session, code)
    changed: dict = {}
    if arrival_instructions is not None and len(arrival_instructions) > 4000:
        raise BadRequest("arrival instructions must be at most 4000 characters")
    for column, value in (("require_identity_check", require_identity_check),
                          ("require_escort_confirmation", require_escort_confirmation),
                          ("arrival_instructions", arrival_instructions),
                          ("require_pre_check_in", require_pre_check_in)):
        if value is not None and getattr(site, column) != value:
            setattr(site, column, value)
            changed[column] = value
    if rules_markdown is not None:
        if len(rules_markdown) > 100_000:
            raise BadRequest("the rules document must be at most 100,000 characters")
        current = await current_rules(session, code)
        if current is None or current.markdown != rules_markdown:
            version = (current.version + 1) if current else 1
            session.add(SiteRules(site_code=code, version=version, markdown=rules_markdown, created_at=utcnow()))
            changed["rulesVersion"] = version
    if changed:
        await session.flush()
        await events.record(session, "site.changed", object_id=code, site_code=code, data=changed)
    return site


async def current_rules(session: AsyncSession, code: str):
    from gatehouse.sites.models import SiteRules

    return (await session.execute(select(SiteRules).where(SiteRules.site_code == code)
                                  .order_by(SiteRules.version.desc()).limit(1))).scalar_one_or_none()


LOCATION_KINDS = ("room", "pop-poe")


async def create_location(session: AsyncSession, site_code: str, name: str, parent: str | None = None,
                          kind: str = "room") -> Location:
    await get_site(session, site_code)
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("location name must be 1-100 characters")
    if kind not in LOCATION_KINDS:
        raise BadRequest(f"location kind must be one of: {', '.join(LOCATION_KINDS)}")
    parent_id = (await get_location(session, site_code, parent)).id if parent else None
    if (await session.execute(select(Location.id).where(
            Location.site_code == site_code, Location.name == name))).first():
        raise Conflict(f"location '{name}' already exists in site {site_code}")
    loc = Location(site_code=site_code, name=name, parent_id=parent_id, kind=kind)
    session.add(loc)
    await session.flush()
    await events.record(session, "site.changed", object_id=site_code, site_code=site_code,
                        data={"change": "location created", "location": name, "kind": kind, "parent": parent})
    return loc


async def grant_site(session: AsyncSession, account_id: str, site_code: str) -> None:
    await get_account(session, account_id)
    await get_site(session, site_code)
    exists = (await session.execute(select(AccountSite.id).where(
        AccountSite.account_id == account_id, AccountSite.site_code == site_code))).first()
    if not exists:
        session.add(AccountSite(account_id=account_id, site_code=site_code))
        await session.flush()
        await bump_security_epoch(session)
        await events.record(session, "grant.changed", object_id=site_code, account_id=account_id, site_code=site_code,
                            data={"kind": "site", "site": site_code})


async def grant_location(session: AsyncSession, account_id: str, site_code: str, name: str) -> None:
    """Grants the location (and so its children), and the site it is in."""
    await grant_site(session, account_id, site_code)
    loc = await get_location(session, site_code, name)
    exists = (await session.execute(select(AccountLocation.id).where(
        AccountLocation.account_id == account_id, AccountLocation.location_id == loc.id))).first()
    if not exists:
        session.add(AccountLocation(account_id=account_id, location_id=loc.id))
        await session.flush()
        await bump_security_epoch(session)
        await events.record(session, "grant.changed", object_id=str(loc.id), account_id=account_id,
                            site_code=site_code, data={"kind": "location", "site": site_code, "locationId": loc.id})
