"""Operator queries. Every ticket lookup is scoped to the operator's sites in the statement:
a ticket elsewhere is simply not found."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, OperatorSite, User
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.facility_access.repository import WORK_ORDER_ID
from gatehouse.sites.models import Site

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


async def roster(session: AsyncSession, days: Sequence[tuple[str, date]], statuses: Sequence[str], *,
                 limit: int, offset: int) -> Sequence[tuple[WorkOrder, str]]:
    """One page of the tickets at the given sites whose badge dates and at least one location's
    access dates cover that site's day. The (site_code, status, badge_end) index bounds the scan
    to tickets still running on the day, whatever the history; LIMIT bounds the reply."""
    if not days:
        return []
    covers_site_day = []
    for site_code, day in days:
        covers = exists().where(WorkOrderLocation.work_order_id == WorkOrder.id,
                                WorkOrderLocation.access_start <= day, WorkOrderLocation.access_end >= day)
        covers_site_day.append(and_(WorkOrder.site_code == site_code, WorkOrder.badge_end >= day,
                                    WorkOrder.badge_start <= day, covers))
    stmt = (select(WorkOrder, Account.name).join(Account, Account.id == WorkOrder.account_id)
            .where(WorkOrder.status.in_(list(statuses)), or_(*covers_site_day))
            .order_by(WorkOrder.site_code, WorkOrder.visitor_last_name, WorkOrder.visitor_first_name, WorkOrder.id)
            .limit(limit).offset(offset))
    return [(t, name) for t, name in (await session.execute(stmt)).all()]


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


_ROSTER_COLUMNS = ("w.id, w.status, w.site_code, w.account_id, a.name AS account_name, w.visitor_first_name, "
                   "w.checked_in_at, w.checked_out_at, "
                   "w.visitor_last_name, w.visitor_email, w.company, w.escorted, w.extended_badge, "
                   "w.escort_first_name, w.escort_last_name, w.badge_start, w.badge_end, w.badge_number, "
                   "h.status AS hold_status, h.entry_id AS hold_entry, "
                   "coalesce(h.decision_reason, h.reason) AS hold_reason, h.matched_on AS hold_matched")
_ROSTER_LOCATIONS = {
    "sqlite": ("(SELECT json_group_array(json_object('location_name', l.location_name, 'access_start', l.access_start,"
               " 'access_end', l.access_end, 'access_start_time', l.access_start_time, 'access_end_time',"
               " l.access_end_time)) FROM (SELECT * FROM work_order_locations WHERE work_order_id = w.id"
               " ORDER BY id) AS l)"),
    "postgres": ("(SELECT coalesce(json_agg(json_build_object('location_name', l.location_name, 'access_start',"
                 " l.access_start, 'access_end', l.access_end, 'access_start_time', l.access_start_time,"
                 " 'access_end_time', l.access_end_time) ORDER BY l.id), '[]') FROM work_order_locations AS l"
                 " WHERE l.work_order_id = w.id)::text"),
}


def _roster_sql(dialect: str, days: Sequence[tuple[str, date]], statuses: Sequence[str]) -> tuple[str, list]:
    params: list = []

    def p(value) -> str:
        params.append(value)
        return "?" if dialect == "sqlite" else f"${len(params)}"

    status_in = ", ".join(p(s) for s in statuses)
    per_site = " OR ".join(
        f"(w.site_code = {p(code)} AND w.badge_end >= {p(day)} AND w.badge_start <= {p(day)} AND EXISTS "
        f"(SELECT 1 FROM work_order_locations AS x WHERE x.work_order_id = w.id AND x.access_start <= {p(day)} "
        f"AND x.access_end >= {p(day)}))" for code, day in days)
    sql = (f"SELECT {_ROSTER_COLUMNS}, {_ROSTER_LOCATIONS[dialect]} AS locations_json "
           f"FROM work_orders AS w JOIN accounts AS a ON a.id = w.account_id "
           f"LEFT JOIN security_holds AS h ON h.work_order_id = w.id "
           f"WHERE w.status IN ({status_in}) AND ({per_site}) "
           f"ORDER BY w.site_code, w.visitor_last_name, w.visitor_first_name, w.id ")
    return sql, params


async def roster_lean(reader, days: Sequence[tuple[str, date]], statuses: Sequence[str], *, limit: int,
                      offset: int) -> list:
    """The roster in one statement through the lean reader (the desk renders hundreds of rows a
    page; ORM objects were most of its time). Same filter and order as `roster`."""
    if not days:
        return []
    results = []
    for dialect in ("sqlite", "postgres"):
        sql, params = _roster_sql(dialect, days, statuses)
        n = len(params)
        if dialect == "sqlite":
            results.append((sql + "LIMIT ? OFFSET ?", [*params, limit, offset]))
        else:
            results.append((sql + f"LIMIT ${n + 1} OFFSET ${n + 2}", [*params, limit, offset]))
    (sqlite_sql, sqlite_params), (pg_sql, pg_params) = results
    if reader.is_sqlite:
        return list(await reader.fetch(sqlite_sql, pg_sql, *[v.isoformat() if isinstance(v, date) else v
                                                              for v in sqlite_params]))
    return list(await reader.fetch(sqlite_sql, pg_sql, *pg_params))


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
