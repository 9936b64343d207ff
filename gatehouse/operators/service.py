"""What operators (site staff) do: the daily roster, check-in/out, completion, comments.
Operators see every account's tickets, but only at their own sites."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.models import Account, OperatorSite, User
from gatehouse.comments.service import add_comment
from gatehouse.facility_access import lifecycle, repository
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.facility_access.service import badge_type, render_ticket, site_today, ticket_not_found
from gatehouse.kit.db import Database
from gatehouse.kit.errors import BadRequest, Conflict, NotFound
from gatehouse.kit.wire import fmt_date
from gatehouse.sites.models import Site


@dataclass(frozen=True)
class Operator:
    user_id: int
    display_name: str
    sites: frozenset[str]


async def operator_by_name(db: Database, name: str) -> Operator:
    """For the CLI: act as a named operator."""
    async with db.read() as session:
        user = (await session.execute(select(User).where(User.display_name == name, User.kind == "operator"))
                ).scalar_one_or_none()
        if user is None:
            raise NotFound(f"no operator named '{name}'")
        sites = (await session.execute(select(OperatorSite.site_code).where(OperatorSite.user_id == user.id))).scalars()
        return Operator(user.id, user.display_name, frozenset(sites))


async def _ticket(session: AsyncSession, op: Operator, ticket_id: str) -> tuple[WorkOrder, Site]:
    if not repository.WORK_ORDER_ID.match(ticket_id):
        raise ticket_not_found()
    row = (await session.execute(
        select(WorkOrder, Site).join(Site, Site.code == WorkOrder.site_code)
        .where(WorkOrder.id == ticket_id, WorkOrder.site_code.in_(op.sites))
    )).first()
    if row is None:
        raise ticket_not_found()
    return row[0], row[1]


async def roster(db: Database, op: Operator, *, site: str | None, status: str | None, day: date | None) -> list[dict]:
    if site is not None and site not in op.sites:
        raise NotFound(f"Site '{site}' was not found.", code="SITE_NOTFOUND")
    if status is not None and status not in Status._value2member_map_:
        raise BadRequest("Query parameter 'status' has an unexpected value.", code="CONSTRAINT_VIOLATION")
    rows: list[dict] = []
    async with db.read() as session:
        sites = (await session.execute(select(Site).where(Site.code.in_([site] if site else op.sites))
                                       .order_by(Site.code))).scalars().all()
        for s in sites:
            d = day or site_today(s.timezone)
            covers = exists().where(WorkOrderLocation.work_order_id == WorkOrder.id,
                                    WorkOrderLocation.access_start <= d, WorkOrderLocation.access_end >= d)
            stmt = (select(WorkOrder, Account.name).join(Account, Account.id == WorkOrder.account_id)
                    .where(WorkOrder.site_code == s.code, WorkOrder.badge_start <= d, WorkOrder.badge_end >= d, covers)
                    .order_by(WorkOrder.visitor_last_name, WorkOrder.visitor_first_name, WorkOrder.id))
            if status:
                stmt = stmt.where(WorkOrder.status == status)
            found = (await session.execute(stmt)).all()
            locs: dict[str, list[WorkOrderLocation]] = {}
            if found:
                for loc in (await session.execute(select(WorkOrderLocation).where(
                        WorkOrderLocation.work_order_id.in_([t.id for t, _ in found]))
                        .order_by(WorkOrderLocation.id))).scalars():
                    locs.setdefault(loc.work_order_id, []).append(loc)
            rows += [_roster_row(t, name, locs.get(t.id, [])) for t, name in found]
    return rows


def _roster_row(t: WorkOrder, account_name: str, locs: Collection[WorkOrderLocation]) -> dict:
    return {
        "ticketId": t.id, "ticketStatus": t.status, "site": t.site_code, "accountId": t.account_id,
        "accountName": account_name, "visitorFirstName": t.visitor_first_name, "visitorLastName": t.visitor_last_name,
        "visitorEmail": t.visitor_email, "company": t.company,
        "visitorType": "Escorted visitor" if t.escorted else "Unescorted visitor",
        "visitorBadgeType": badge_type(t.escorted, t.extended_badge), "escortFirstName": t.escort_first_name or "",
        "escortLastName": t.escort_last_name or "", "badgeStartDate": fmt_date(t.badge_start),
        "badgeEndDate": fmt_date(t.badge_end), "badgeNumber": t.badge_number or "",
        "locations": [{"location": loc.location_name, "accessStartDate": fmt_date(loc.access_start),
                       "accessEndDate": fmt_date(loc.access_end)} for loc in locs],
    }


async def ticket_detail(db: Database, op: Operator, ticket_id: str) -> dict:
    async with db.read() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        body = render_ticket(ticket, site.address, await repository.ticket_locations(session, ticket.id),
                             await repository.ticket_comments(session, ticket.id))
    return {**body, "accountId": ticket.account_id, "badgeNumber": ticket.badge_number or ""}


def _result(ticket: WorkOrder) -> dict:
    return {"ticketId": ticket.id, "ticketStatus": ticket.status, "badgeNumber": ticket.badge_number or ""}


async def check_in(db: Database, op: Operator, ticket_id: str, badge_number: str) -> dict:
    async with db.write() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        today = site_today(site.timezone)
        locs = await repository.ticket_locations(session, ticket.id)
        start, end = ticket.badge_start, ticket.badge_end
        if locs:  # the access window is the union of its locations' windows, inside the badge dates
            start = max(start, min(loc.access_start for loc in locs))
            end = min(end, max(loc.access_end for loc in locs))
        if lifecycle.target_of(ticket.status, Action.CHECK_IN) is not None and not (start <= today <= end):
            raise Conflict(f"Work order {ticket.id} gives access from {start} to {end}; today at {site.code} is "
                           f"{today}.", code="OUTSIDE_ACCESS_WINDOW")
        await lifecycle.apply(session, ticket, Action.CHECK_IN, actor=op.display_name, actor_user_id=op.user_id,
                              note=f"badge {badge_number}", changes={"badge_number": badge_number})
    return _result(ticket)


async def check_out(db: Database, op: Operator, ticket_id: str) -> dict:
    async with db.write() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        final = site_today(site.timezone) >= ticket.badge_end
        await lifecycle.apply(session, ticket, Action.CHECK_OUT_FINAL if final else Action.CHECK_OUT,
                              actor=op.display_name, actor_user_id=op.user_id)
    return _result(ticket)


async def complete(db: Database, op: Operator, ticket_id: str) -> dict:
    async with db.write() as session:
        ticket, _site = await _ticket(session, op, ticket_id)
        await lifecycle.apply(session, ticket, Action.COMPLETE, actor=op.display_name, actor_user_id=op.user_id)
    return _result(ticket)


async def comment(db: Database, op: Operator, ticket_id: str, text: str) -> dict:
    async with db.write() as session:
        ticket, _site = await _ticket(session, op, ticket_id)
        return await add_comment(session, ticket, text, op.display_name, op.user_id)
