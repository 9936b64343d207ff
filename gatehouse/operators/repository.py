"""Operator queries. Every ticket lookup is scoped to the operator's sites in the statement:
a ticket elsewhere is simply not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, OperatorSite, User
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.facility_access.repository import WORK_ORDER_ID
from gatehouse.kit.jsonagg import JsonArray
from gatehouse.kit.leanread import Rows
from gatehouse.sites.models import Site
from gatehouse.watchlist.models import SecurityHold

ALL_STATUSES = [s.value for s in Status]


async def operator_named(session: AsyncSession, name: str) -> tuple[User, list[str]] | None:
    user = (await session.execute(select(User).where(User.display_name == name, User.kind == "operator"))
            ).scalar_one_or_none()
    if user is None:
        return None
    sites = (await session.execute(select(OperatorSite.site_code).where(OperatorSite.user_id == user.id)
                                   .order_by(OperatorSite.site_code))).scalars().all()
    return user, list(sites)


async def ticket_at_sites(session: AsyncSession, sites: Collection[str], ticket_id: str, *, share_lock: bool = False
                          ) -> tuple[WorkOrder, Site] | None:
    """`share_lock` (PostgreSQL; SQLite write transactions are serialized anyway) makes a concurrent
    status change wait for this transaction, e.g. so a comment never lands after the ticket closed."""
    if not WORK_ORDER_ID.match(ticket_id) or not sites:
        return None
    stmt = (select(WorkOrder, Site).join(Site, Site.code == WorkOrder.site_code)
            .where(WorkOrder.id == ticket_id, WorkOrder.site_code.in_(list(sites))))
    if share_lock:
        stmt = stmt.with_for_update(read=True, of=WorkOrder)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def sites(session: AsyncSession, codes: Collection[str]) -> Sequence[Site]:
    if not codes:
        return []
    return (await session.execute(select(Site).where(Site.code.in_(list(codes))).order_by(Site.code))).scalars().all()


async def locations_of(session: AsyncSession, ticket_ids: Collection[str]) -> dict[str, list[WorkOrderLocation]]:
    found: dict[str, list[WorkOrderLocation]] = {}
    if ticket_ids:
        for loc in (await session.execute(select(WorkOrderLocation)
                                          .where(WorkOrderLocation.work_order_id.in_(list(ticket_ids)))
                                          .order_by(WorkOrderLocation.id))).scalars():
            found.setdefault(loc.work_order_id, []).append(loc)
    return found


async def visitor_log(session: AsyncSession, site_code: str, timezone: str, first: date, last: date) -> list[dict]:
    """Check-ins at a site between two dates of the site's calendar, each with the check-out that
    followed it; times in site time with the zone named."""
    from gatehouse.facility_access.models import TicketEvent
    from gatehouse.facility_access.presenter import render_location
    from gatehouse.kit.sitetime import day_span, local, window_text

    start, end = day_span(first, last, timezone)
    rows = (await session.execute(
        select(TicketEvent, WorkOrder).join(WorkOrder, WorkOrder.id == TicketEvent.work_order_id)
        .where(WorkOrder.site_code == site_code, TicketEvent.at >= start, TicketEvent.at < end,
               TicketEvent.action.in_(["check-in", "check-out", "check-out-final"]))
        .order_by(TicketEvent.work_order_id, TicketEvent.id))).all()
    out: list[dict] = []
    for event, ticket in rows:
        if event.action == "check-in":
            out.append({"ticketId": ticket.id, "visitor": f"{ticket.visitor_first_name} {ticket.visitor_last_name}",
                        "company": ticket.company, "host": f"{ticket.host_first_name} {ticket.host_last_name}",
                        "escort": f"{ticket.escort_first_name} {ticket.escort_last_name}".strip(),
                        "badge": event.note.removeprefix("badge "), "in": local(event.at, timezone, seconds=True), "out": "",
                        "at": event.at})
        elif out and out[-1]["ticketId"] == ticket.id and not out[-1]["out"]:
            out[-1]["out"] = local(event.at, timezone, seconds=True)
    booked = await locations_of(session, {r["ticketId"] for r in out})
    for r in out:  # the access window the visit was booked for, beside when it really happened
        r["window"] = "; ".join(f"{loc.location_name} {window_text(render_location(loc), timezone)}"
                                for loc in booked.get(r["ticketId"], []))
    return sorted(out, key=lambda r: r["at"])


@cache
def _roster_statement(statuses: int, sites: int) -> Select:
    """The desk's roster as one statement, for a number of statuses and of (site, day) pairs (bound
    as status0.., site0/day0..): the tickets at those sites whose badge dates and at least one
    location's access dates cover that site's day, with the account's name, the hold and the
    locations as JSON. The (site_code, status, badge_end) index bounds the scan to tickets still
    running on the day, whatever the history; LIMIT bounds the reply."""
    w, x, h = WorkOrder.__table__, WorkOrderLocation.__table__, SecurityHold.__table__
    locations = JsonArray(x, lambda c: {"location_name": c.location_name, "access_start": c.access_start,
                                        "access_end": c.access_end, "access_start_time": c.access_start_time,
                                        "access_end_time": c.access_end_time},
                          lambda c: c.work_order_id == w.c.id, lambda c: c.id, w)
    covers = [and_(w.c.site_code == bindparam(f"site{i}"), w.c.badge_end >= bindparam(f"day{i}"),
                   w.c.badge_start <= bindparam(f"day{i}"),
                   exists().where(x.c.work_order_id == w.c.id, x.c.access_start <= bindparam(f"day{i}"),
                                  x.c.access_end >= bindparam(f"day{i}")))
              for i in range(sites)]
    return (select(w.c.id, w.c.status, w.c.site_code, w.c.account_id, Account.name.label("account_name"),
                   w.c.visitor_first_name, w.c.checked_in_at, w.c.checked_out_at, w.c.visitor_last_name,
                   w.c.visitor_email, w.c.company, w.c.escorted, w.c.extended_badge, w.c.escort_first_name,
                   w.c.escort_last_name, w.c.badge_start, w.c.badge_end, w.c.badge_number,
                   h.c.status.label("hold_status"), h.c.entry_id.label("hold_entry"),
                   func.coalesce(h.c.decision_reason, h.c.reason).label("hold_reason"),
                   h.c.matched_on.label("hold_matched"), locations.label("locations_json"))
            .join(Account, Account.id == w.c.account_id).outerjoin(h, h.c.work_order_id == w.c.id)
            .where(w.c.status.in_([bindparam(f"status{i}") for i in range(statuses)]), or_(*covers))
            .order_by(w.c.site_code, w.c.visitor_last_name, w.c.visitor_first_name, w.c.id)
            .limit(bindparam("limit")).offset(bindparam("offset")))


async def roster(runner: Rows, days: Sequence[tuple[str, date]], statuses: Sequence[str], *, limit: int,
                 offset: int) -> list[dict[str, Any]]:
    """One page of the roster (see `_roster_statement`) on the lean reader or in a session: the desk
    renders hundreds of rows a page (ORM objects were most of its time)."""
    if not days or not statuses:
        return []
    params: dict[str, Any] = {f"status{i}": s for i, s in enumerate(statuses)}
    for i, (code, day) in enumerate(days):
        params |= {f"site{i}": code, f"day{i}": day}
    return await runner.rows(_roster_statement(len(statuses), len(days)), limit=limit, offset=offset, **params)


async def accounts_at_site(session: AsyncSession, site_code: str) -> list[tuple[str, str]]:
    """(id, name) of the customers granted a site: whom a walk-in at its desk may be for."""
    from gatehouse.accounts.models import Account
    from gatehouse.sites.models import AccountSite

    return [(r[0], r[1]) for r in (await session.execute(
        select(Account.id, Account.name).join(AccountSite, AccountSite.account_id == Account.id)
        .where(AccountSite.site_code == site_code).order_by(Account.name, Account.id))).all()]


async def photo_taken_at(session: AsyncSession, ticket_id: str):
    """When the desk took the visitor's photo (None: no photo); the caller has scoped the ticket."""
    from gatehouse.operators.models import VisitorPhoto

    return (await session.execute(select(VisitorPhoto.taken_at).where(VisitorPhoto.work_order_id == ticket_id))
            ).scalar_one_or_none()
