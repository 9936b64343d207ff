"""Evacuation roll call (SPEC §14, §17): everyone on site now — visitors and badge holders checked in
and not out — with an "accounted for" mark per person, shared by every guard of the site. A mark
belongs to one stay: a new check-in starts unmarked."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gatehouse.accounts.models import Account
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.kit.db import Database, dialect_of, utcnow
from gatehouse.kit.errors import NotFound
from gatehouse.operators.models import RollCallMark
from gatehouse.operators.service import Operator, site_text
from gatehouse.sites.models import Site


def _site_not_found(site: str) -> NotFound:
    return NotFound(f"Site '{site}' was not found.", code="SITE_NOTFOUND")


# Everyone on site at a site (lifecycle.is_on_site, in SQL): checked in and not out since, with their
# company, escort, locations (one string) and this stay's mark: one statement, written once, run on
# the lean reader (5,000 people: ORM objects were most of a second per guard's poll).
_SEP = "\x1f"
_SEP_SQL: Any = literal_column("'\x1f'")  # a literal, not a bound parameter: the statement is compiled once
_PLACES = (select(func.aggregate_strings(WorkOrderLocation.location_name, _SEP_SQL))
           .where(WorkOrderLocation.work_order_id == WorkOrder.id).scalar_subquery())
ON_SITE = (
    select(WorkOrder.id, WorkOrder.visitor_first_name, WorkOrder.visitor_last_name, WorkOrder.company,
           Account.name.label("account_name"), WorkOrder.escorted, WorkOrder.escort_first_name,
           WorkOrder.escort_last_name, WorkOrder.checked_in_at, WorkOrder.badge_holder_id,
           RollCallMark.accounted_for, RollCallMark.marked_by, RollCallMark.marked_at, _PLACES.label("places"))
    .join(Account, Account.id == WorkOrder.account_id)
    .outerjoin(RollCallMark, and_(RollCallMark.site_code == WorkOrder.site_code,
                                  RollCallMark.work_order_id == WorkOrder.id))
    .where(WorkOrder.site_code == bindparam("site"), WorkOrder.status == bindparam("status"),
           WorkOrder.checked_in_at.is_not(None),
           or_(WorkOrder.checked_out_at.is_(None), WorkOrder.checked_out_at < WorkOrder.checked_in_at))
    .order_by(WorkOrder.visitor_last_name, WorkOrder.visitor_first_name, WorkOrder.id))
SITE_ZONE = select(Site.timezone).where(Site.code == bindparam("site"))
# What the list depends on, cheaply (the (site, status) index and the marks' key): equal, the list is
# the one built last; every guard polls it each second, and 5,000 rows take far longer to build
FINGERPRINT = select(
    *select(func.count(), func.max(WorkOrder.updated_at))
    .where(WorkOrder.site_code == bindparam("site"), WorkOrder.status == bindparam("status")).subquery().c,
    *select(func.count(), func.max(RollCallMark.marked_at))
    .where(RollCallMark.site_code == bindparam("site")).subquery().c)
_built: dict[str, tuple[tuple, bytes]] = {}


# one person of that list: a guard's mark checks the person alone, not the whole site (5,000 rows)
ON_SITE_ONE = ON_SITE.where(WorkOrder.id == bindparam("ticket_id"))


async def on_site(db: Database, op: Operator, site: str, ticket_id: str | None = None) -> list[dict]:
    """Everyone on site now, or (`ticket_id`) that one person if on site."""
    if site not in op.sites:
        raise _site_not_found(site)
    zone = await db.reader.rows(SITE_ZONE, site=site)
    if not zone:
        raise _site_not_found(site)
    timezone = zone[0]["timezone"]
    out = []
    found = (await db.reader.rows(ON_SITE, site=site, status=lifecycle.ON_SITE_STATUS) if ticket_id is None else
             await db.reader.rows(ON_SITE_ONE, site=site, status=lifecycle.ON_SITE_STATUS, ticket_id=ticket_id))
    for r in found:
        # a mark counts for this stay only: a new check-in starts unmarked
        fresh = r["marked_at"] is not None and r["marked_at"] >= r["checked_in_at"]
        out.append({"kind": "badge-holder" if r["badge_holder_id"] else "visitor", "ticketId": r["id"],
                    "name": f"{r['visitor_first_name']} {r['visitor_last_name']}",
                    "company": r["company"] or r["account_name"],
                    "escort": f"{r['escort_first_name']} {r['escort_last_name']}".strip() if r["escorted"] else "",
                    "locations": sorted((r["places"] or "").split(_SEP)) if r["places"] else [],
                    "checkInTime": site_text(r["checked_in_at"], timezone), "timezone": timezone,
                    "accountedFor": bool(fresh and r["accounted_for"]), "markedBy": r["marked_by"] if fresh else ""})
    return out


async def on_site_json(db: Database, op: Operator, site: str) -> bytes:
    """`on_site` as JSON bytes, built again only when a check-in, check-out or mark changed it."""
    if site not in op.sites:
        raise _site_not_found(site)
    found = await db.reader.rows(FINGERPRINT, site=site, status=lifecycle.ON_SITE_STATUS)
    key = tuple(found[0].values()) if found else ()
    hit = _built.get(site)
    if hit is not None and hit[0] == key:
        return hit[1]
    body = orjson.dumps(await on_site(db, op, site))
    _built[site] = (key, body)
    return body


async def mark(db: Database, op: Operator, site: str, ticket_id: str, accounted_for: bool) -> dict:
    """One guard's mark, seen by the others at their next poll; a person not on site is 404."""
    people = {p["ticketId"]: p for p in await on_site(db, op, site, ticket_id)}
    if ticket_id not in people:
        raise NotFound("No one with this ticket is on site.", code="NOT_ON_SITE")
    now = utcnow()
    async with db.write() as session:
        values = dict(site_code=site, work_order_id=ticket_id, accounted_for=accounted_for,
                      marked_by=op.display_name[:40], marked_at=now)
        insert = pg_insert if dialect_of(session) == "postgresql" else sqlite_insert
        await session.execute(insert(RollCallMark).values(**values).on_conflict_do_update(
            index_elements=["site_code", "work_order_id"],
            set_={"accounted_for": accounted_for, "marked_by": values["marked_by"], "marked_at": now}))
    return {**people[ticket_id], "accountedFor": accounted_for, "markedBy": values["marked_by"]}


async def start(db: Database, op: Operator, site: str) -> dict:
    """A new roll call (the alarm sounded): every mark of the site cleared, the start in the trail."""
    people = await on_site(db, op, site)
    async with db.write() as session:
        await session.execute(delete(RollCallMark).where(RollCallMark.site_code == site))
        await events.record(session, EventType.ROLL_CALL_STARTED, object_id=site, site_code=site,
                            data={"site": site, "onSite": len(people)})
    return {"onSite": len(people)}


async def close(db: Database, op: Operator, site: str) -> dict:
    """The roll call over: who was accounted for and who was not, in the trail (the auditors' evidence)."""
    people = await on_site(db, op, site)
    missing = [f"{p['name']} ({p['ticketId']})" for p in people if not p["accountedFor"]]
    data = {"site": site, "onSite": len(people), "accountedFor": len(people) - len(missing), "missing": missing[:200]}
    async with db.write() as session:
        await events.record(session, EventType.ROLL_CALL_CLOSED, object_id=site, site_code=site, data=data)
    return data
