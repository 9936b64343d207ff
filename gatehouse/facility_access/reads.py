"""The hot reads of tickets (SPEC §7): the detail and the list, each one Core statement (written
once, compiled per dialect by the lean reader), rendered by the same presenter as every other
ticket (`presenter.render_ticket`). Scoped to the account in the statement itself, like every
other lookup. `runner` is the lean reader or any other `kit.leanread.Rows` (an ORM session's, the
lean writer's transaction): the same statement everywhere."""

from __future__ import annotations

import json
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, bindparam, func, literal_column, select

from gatehouse.facility_access.models import Comment, TicketCount, WorkOrder, WorkOrderLocation
from gatehouse.facility_access.repository import WORK_ORDER_ID
from gatehouse.kit.jsonagg import JsonArray
from gatehouse.kit.leanread import Rows
from gatehouse.sites.models import Site

_w = WorkOrder.__table__
_LOCATIONS = JsonArray(
    WorkOrderLocation.__table__,
    lambda c: {"location_name": c.location_name, "access_start": c.access_start, "access_end": c.access_end,
               "access_start_time": c.access_start_time, "access_end_time": c.access_end_time,
               "site_code": c.site_code, "decision": c.decision,
               "site_address": select(Site.address).where(Site.code == c.site_code).scalar_subquery()},
    lambda c: c.work_order_id == _w.c.id, lambda c: c.id, _w).label("locations_json")
_COMMENTS = JsonArray(
    Comment.__table__, lambda c: {"comment": c.comment, "commented_by": c.commented_by, "created_at": c.created_at},
    lambda c: c.work_order_id == _w.c.id, lambda c: c.id, _w).label("comments_json")

_DETAIL = (select(_w, Site.address.label("site_address"), _LOCATIONS, _COMMENTS)
           .join(Site, Site.code == _w.c.site_code)
           .where(_w.c.id == bindparam("ticket_id"), _w.c.account_id == bindparam("account_id")))
# the channels' view (mail, webhooks): unscoped (the event was scoped when the change was made), with the site
_VIEW = (select(_w, Site.address.label("site_address"), Site.city.label("site_city"),
                Site.timezone.label("site_timezone"), Site.arrival_instructions.label("site_arrival"),
                _LOCATIONS, _COMMENTS)
         .join(Site, Site.code == _w.c.site_code).where(_w.c.id == bindparam("ticket_id")))


def _render(row: dict[str, Any]) -> dict[str, Any]:
    from gatehouse.facility_access.presenter import render_ticket

    ticket = SimpleNamespace(**row)
    locations = [SimpleNamespace(**loc) for loc in json.loads(row["locations_json"])]
    comments = [SimpleNamespace(**c) for c in json.loads(row["comments_json"])]
    return render_ticket(ticket, row["site_address"], locations, comments)


async def ticket_detail(runner: Rows, account_id: str, ticket_id: str) -> dict[str, Any] | None:
    if not WORK_ORDER_ID.match(ticket_id):
        return None
    found = await runner.rows(_DETAIL, ticket_id=ticket_id, account_id=account_id)
    return _render(found[0]) if found else None


async def ticket_view(runner: Rows, ticket_id: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The ticket as GET shows it and its site (code, address, city, timezone), unscoped: for the
    channels, which act on events scoped when the change was made."""
    found = await runner.rows(_VIEW, ticket_id=ticket_id)
    if not found:
        return None
    row = found[0]
    site = {"code": row["site_code"], "address": row["site_address"], "city": row["site_city"],
            "timezone": row["site_timezone"], "arrival": row["site_arrival"] or ""}
    return _render(row), site


_FILTERS = ("site_code", "status", "requester", "request_type")


@cache
def _page_statements(filters: tuple[str, ...]) -> tuple[Select, Select]:
    """The page and its total for one set of filters (16 at most, each built once: the lean reader
    compiles a statement once per dialect)."""
    where = [_w.c.account_id == bindparam("account_id")] + [_w.c[f] == bindparam(f) for f in filters]
    page = (select(_w.c.id, _w.c.title, _w.c.status, _w.c.site_code, _w.c.bulk_request, _w.c.created_at,
                   _w.c.updated_at, _w.c.closed_at, _w.c.requester, _w.c.location_summary, _w.c.request_type,
                   _w.c.ticket_category)
            .where(*where).order_by(_w.c.created_at.desc(), _w.c.id.desc())
            .limit(bindparam("size")).offset(bindparam("offset")))
    if "request_type" in filters:  # a list of one request kind (PoP/POE, few) counts its rows
        total = select(func.count().label("total")).select_from(_w).where(*where)
    else:  # the counters table: never a COUNT over tickets
        t = TicketCount.__table__
        total = select(func.coalesce(func.sum(t.c.n), literal_column("0")).label("total")).where(
            t.c.account_id == bindparam("account_id"), *[t.c[f] == bindparam(f) for f in filters])
    return page, total


async def ticket_page(runner: Rows, account_id: str, *, site: str | None, status: str | None,
                      created_by: str | None, size: int, page: int, request_type: str | None = None
                      ) -> tuple[list[Any], int]:
    """One page, newest first (the account/site/status/requester indexes), and the total: two statements."""
    values = {f: v for f, v in zip(_FILTERS, (site, status, created_by, request_type), strict=True) if v is not None}
    page_stmt, total_stmt = _page_statements(tuple(values))
    rows = await runner.rows(page_stmt, account_id=account_id, size=size, offset=page * size, **values)
    total = await runner.rows(total_stmt, account_id=account_id, **values)
    return [SimpleNamespace(**r) for r in rows], int(total[0]["total"] or 0) if total else 0
