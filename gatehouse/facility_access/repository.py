"""Ticket queries. Every statement is scoped to the caller's account: a foreign id is simply
not found, so it can never be told apart from one that does not exist."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.facility_access.models import Comment, TicketCount, WorkOrder, WorkOrderLocation
from gatehouse.kit.leanread import Rows
from gatehouse.sites.models import Site

WORK_ORDER_ID = re.compile(r"^WO\d{7}$")


def scoped(account_id: str) -> Select:
    return select(WorkOrder).where(WorkOrder.account_id == account_id)


# In a lean writer's plan (kit/leanwrite.py): the ticket's status, share-locked on PostgreSQL so that
# what is added to an open ticket commits before the ticket can close (SQLite: the write lock).
# what an open-ticket check needs (lifecycle.ensure_open), read lean; held: the same in a change's transaction
TICKET_STATE = (select(WorkOrder.id, WorkOrder.status, WorkOrder.account_id, WorkOrder.site_code)
                .where(WorkOrder.account_id == bindparam("account_id"), WorkOrder.id == bindparam("id")))
TICKET_HELD = TICKET_STATE.with_for_update(read=True)


async def get_ticket(session: AsyncSession, account_id: str, ticket_id: str, *, for_update: bool = False
                     ) -> WorkOrder | None:
    """What is added to an open ticket (a comment, a file) holds it with TICKET_HELD instead."""
    if not WORK_ORDER_ID.match(ticket_id):
        return None
    stmt = scoped(account_id).where(WorkOrder.id == ticket_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_ticket_with_address(session: AsyncSession, account_id: str, ticket_id: str, *,
                                  for_update: bool = False) -> tuple[WorkOrder, str, str] | None:
    if not WORK_ORDER_ID.match(ticket_id):
        return None
    stmt = (select(WorkOrder, Site.address, Site.timezone).join(Site, Site.code == WorkOrder.site_code)
            .where(WorkOrder.account_id == account_id, WorkOrder.id == ticket_id))
    row = (await session.execute(stmt.with_for_update(of=WorkOrder) if for_update else stmt)).first()
    return None if row is None else (row[0], row[1], row[2])


async def ticket_locations(session: AsyncSession, ticket_id: str) -> Sequence[WorkOrderLocation]:
    return (await session.execute(
        select(WorkOrderLocation).where(WorkOrderLocation.work_order_id == ticket_id).order_by(WorkOrderLocation.id)
    )).scalars().all()


async def ticket_comments(session: AsyncSession, ticket_id: str) -> Sequence[Comment]:
    return (await session.execute(
        select(Comment).where(Comment.work_order_id == ticket_id).order_by(Comment.id)
    )).scalars().all()


async def list_page(session: AsyncSession, account_id: str, *, site: str | None, status: str | None,
                    created_by: str | None, size: int, page: int) -> tuple[Sequence, int]:
    """One page, newest first, and the total from the counters (never a COUNT over tickets)."""
    cols = (WorkOrder.id, WorkOrder.title, WorkOrder.status, WorkOrder.site_code, WorkOrder.bulk_request,
            WorkOrder.created_at, WorkOrder.updated_at, WorkOrder.closed_at, WorkOrder.requester,
            WorkOrder.location_summary)
    stmt = select(*cols).where(WorkOrder.account_id == account_id)
    count = select(func.coalesce(func.sum(TicketCount.n), 0)).where(TicketCount.account_id == account_id)
    for column, counter, value in ((WorkOrder.site_code, TicketCount.site_code, site),
                                   (WorkOrder.status, TicketCount.status, status),
                                   (WorkOrder.requester, TicketCount.requester, created_by)):
        if value is not None:
            stmt = stmt.where(column == value)
            count = count.where(counter == value)
    stmt = stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(size).offset(page * size)
    total = int((await session.execute(count)).scalar() or 0)
    if total == 0 or page * size >= total:
        return [], total
    rows = (await session.execute(stmt)).all()
    return rows, total


async def ticket_history(session: AsyncSession, ticket_id: str) -> Sequence:
    """Every change of a ticket, oldest first (who, when, from, to, note)."""
    from gatehouse.facility_access.models import TicketEvent

    return (await session.execute(select(TicketEvent).where(TicketEvent.work_order_id == ticket_id)
                                  .order_by(TicketEvent.id))).scalars().all()


@cache
def _ids_taken(count: int) -> Select:
    return select(WorkOrder.id).where(WorkOrder.id.in_([bindparam(f"id{i}") for i in range(count)]))


def taken_read(ids: Sequence[str]) -> tuple[Select, dict[str, Any]]:
    """The read of which of these work order ids exist (one indexed lookup)."""
    return _ids_taken(len(ids)), {f"id{i}": v for i, v in enumerate(ids)}


async def taken_ids(runner: Rows, ids: Sequence[str]) -> set[str]:
    if not ids:
        return set()
    stmt, params = taken_read(ids)
    return {r["id"] for r in await runner.rows(stmt, **params)}


async def open_tickets_of_visitor(session: AsyncSession, account_id: str, email: str, *, but: str,
                                  request_type: str) -> Sequence[tuple[WorkOrder, str]]:
    """The account's open tickets of a visitor (email, case-insensitive), each with its site's zone,
    locked: a terminate acts on them."""
    from gatehouse.facility_access.lifecycle import OPEN

    return [(t, tz) for t, tz in (await session.execute(
        select(WorkOrder, Site.timezone).join(Site, Site.code == WorkOrder.site_code)
        .where(WorkOrder.account_id == account_id, func.lower(WorkOrder.visitor_email) == email.lower(),
               WorkOrder.status.in_([s.value for s in OPEN]), WorkOrder.id != but,
               WorkOrder.request_type == request_type)
        .order_by(WorkOrder.id).with_for_update(of=WorkOrder))).all()]


async def visitor_home_site(session: AsyncSession, account_id: str, email: str) -> tuple[str, str] | None:
    """The site (code, zone) a terminate work order of a visitor is filed at: that of the visitor's
    latest ticket in the account, else the account's first granted site."""
    from gatehouse.sites.models import AccountSite

    row = (await session.execute(
        select(Site.code, Site.timezone).join(WorkOrder, WorkOrder.site_code == Site.code)
        .where(WorkOrder.account_id == account_id, func.lower(WorkOrder.visitor_email) == email.lower())
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(1))).first()
    if row is None:
        row = (await session.execute(
            select(Site.code, Site.timezone).join(AccountSite, AccountSite.site_code == Site.code)
            .where(AccountSite.account_id == account_id).order_by(Site.code).limit(1))).first()
    return None if row is None else (row[0], row[1])


def new_ids(n: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < n:
        ids.add(f"WO{secrets.randbelow(10_000_000):07d}")
    return list(ids)


async def free_ids(reader, n: int, drawn: Sequence[str] = ()) -> list[str]:
    """n random ids not yet taken (with a million tickets, one id in ten is): the few taken ones are
    drawn again, so the insert's own unique check only meets a race (retried by the caller).
    `drawn`: ids drawn before (their read made ahead), tried first."""
    ids: list[str] = []
    fresh = list(drawn)
    while len(ids) < n:
        fresh = fresh or [i for i in new_ids(n - len(ids)) if i not in ids]
        taken = await taken_ids(reader, fresh)
        ids += [i for i in fresh if i not in taken]
        fresh = []
    return ids[:n]
