"""Evacuation roll call (SPEC §14, §17): everyone on site now — visitors and badge holders checked in
and not out — with an "accounted for" mark per person, shared by every guard of the site. A mark
belongs to one stay: a new check-in starts unmarked."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gatehouse.accounts.models import Account
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import NotFound
from gatehouse.operators.models import RollCallMark
from gatehouse.operators.service import Operator, site_text
from gatehouse.sites.models import Site


def _site_not_found(site: str) -> NotFound:
    return NotFound(f"Site '{site}' was not found.", code="SITE_NOTFOUND")


async def on_site(db: Database, op: Operator, site: str) -> list[dict]:
    if site not in op.sites:
        raise _site_not_found(site)
    async with db.read() as session:
        timezone = (await session.execute(select(Site.timezone).where(Site.code == site))).scalar_one_or_none()
        if timezone is None:
            raise _site_not_found(site)
        found = (await session.execute(
            select(WorkOrder, Account.name).join(Account, Account.id == WorkOrder.account_id)
            .where(WorkOrder.site_code == site, WorkOrder.status == Status.IN_PROGRESS.value)
            .order_by(WorkOrder.visitor_last_name, WorkOrder.visitor_first_name, WorkOrder.id))).all()
        present = [(t, name) for t, name in found if lifecycle.is_on_site(t)]
        ids = [t.id for t, _ in present]
        places: dict[str, list[str]] = {}
        marks: dict[str, RollCallMark] = {}
        if ids:
            for wo, loc in (await session.execute(select(WorkOrderLocation.work_order_id, WorkOrderLocation.location_name)
                                                  .where(WorkOrderLocation.work_order_id.in_(ids))
                                                  .order_by(WorkOrderLocation.id))).all():
                places.setdefault(wo, []).append(loc)
            marks = {m.work_order_id: m for m in (await session.execute(select(RollCallMark).where(
                RollCallMark.site_code == site, RollCallMark.work_order_id.in_(ids)))).scalars()}
    out = []
    for t, account_name in present:
        mark = marks.get(t.id)
        fresh = mark is not None and t.checked_in_at is not None and mark.marked_at >= t.checked_in_at
        out.append({"kind": "badge-holder" if t.badge_holder_id else "visitor", "ticketId": t.id,
                    "name": f"{t.visitor_first_name} {t.visitor_last_name}", "company": t.company or account_name,
                    "escort": f"{t.escort_first_name} {t.escort_last_name}".strip() if t.escorted else "",
                    "locations": places.get(t.id, []), "checkInTime": site_text(t.checked_in_at, timezone),
                    "timezone": timezone, "accountedFor": bool(fresh and mark.accounted_for),
                    "markedBy": mark.marked_by if fresh else ""})
    return out


async def mark(db: Database, op: Operator, site: str, ticket_id: str, accounted_for: bool) -> dict:
    """One guard's mark, seen by the others at their next poll; a person not on site is 404."""
    people = {p["ticketId"]: p for p in await on_site(db, op, site)}
    if ticket_id not in people:
        raise NotFound("No one with this ticket is on site.", code="NOT_ON_SITE")
    now = utcnow()
    async with db.write() as session:
        values = dict(site_code=site, work_order_id=ticket_id, accounted_for=accounted_for,
                      marked_by=op.display_name[:40], marked_at=now)
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
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
