"""The hot reads of tickets (SPEC §7): the detail and the list, each one query through the lean
reader, rendered by the same presenter as every other ticket (`presenter.render_ticket`). Scoped to
the account in the statement itself, like every other lookup."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from gatehouse.facility_access.repository import WORK_ORDER_ID
from gatehouse.kit.leanread import LeanReader

_DETAIL_SQLITE = """
SELECT w.*, s.address AS site_address,
  (SELECT json_group_array(json_object('location_name', l.location_name, 'access_start', l.access_start,
                                       'access_end', l.access_end,
                                       'access_start_time', l.access_start_time, 'access_end_time', l.access_end_time,
                                       'site_code', l.site_code, 'decision', l.decision,
                                       'site_address', (SELECT address FROM sites WHERE code = l.site_code)))
     FROM (SELECT * FROM work_order_locations WHERE work_order_id = w.id ORDER BY id) AS l) AS locations_json,
  (SELECT json_group_array(json_object('comment', c.comment, 'commented_by', c.commented_by,
                                       'created_at', c.created_at))
     FROM (SELECT * FROM comments WHERE work_order_id = w.id ORDER BY id) AS c) AS comments_json
FROM work_orders AS w JOIN sites AS s ON s.code = w.site_code
WHERE w.id = ? AND w.account_id = ?"""

_DETAIL_PG = """
SELECT w.*, s.address AS site_address,
  (SELECT coalesce(json_agg(json_build_object('location_name', l.location_name, 'access_start', l.access_start,
                                              'access_end', l.access_end, 'access_start_time', l.access_start_time,
                                              'access_end_time', l.access_end_time, 'site_code', l.site_code,
                                              'decision', l.decision, 'site_address',
                                              (SELECT address FROM sites WHERE code = l.site_code)) ORDER BY l.id), '[]')
     FROM work_order_locations AS l WHERE l.work_order_id = w.id)::text AS locations_json,
  (SELECT coalesce(json_agg(json_build_object('comment', c.comment, 'commented_by', c.commented_by,
                                              'created_at', c.created_at) ORDER BY c.id), '[]')
     FROM comments AS c WHERE c.work_order_id = w.id)::text AS comments_json
FROM work_orders AS w JOIN sites AS s ON s.code = w.site_code
WHERE w.id = $1 AND w.account_id = $2"""


# the channels' view (mail): unscoped (the event was scoped when the change was made), with the site
_VIEW_SQLITE = _DETAIL_SQLITE.replace(" AND w.account_id = ?", "").replace(
    "s.address AS site_address,", "s.address AS site_address, s.city AS site_city, s.timezone AS site_timezone, "
    "s.arrival_instructions AS site_arrival,")
_VIEW_PG = _DETAIL_PG.replace(" AND w.account_id = $2", "").replace(
    "s.address AS site_address,", "s.address AS site_address, s.city AS site_city, s.timezone AS site_timezone, "
    "s.arrival_instructions AS site_arrival,")


def _render(row: Any) -> dict[str, Any]:
    from gatehouse.facility_access.presenter import render_ticket

    ticket = SimpleNamespace(**dict(row))
    locations = [SimpleNamespace(**loc) for loc in json.loads(row["locations_json"])]
    comments = [SimpleNamespace(**c) for c in json.loads(row["comments_json"])]
    return render_ticket(ticket, row["site_address"], locations, comments)


async def ticket_detail(reader: LeanReader, account_id: str, ticket_id: str) -> dict[str, Any] | None:
    if not WORK_ORDER_ID.match(ticket_id):
        return None
    row = await reader.fetchrow(_DETAIL_SQLITE, _DETAIL_PG, ticket_id, account_id)
    return None if row is None else _render(row)


async def ticket_view(reader: LeanReader, ticket_id: str) -> tuple[dict[str, Any], dict[str, str]] | None:
    """The ticket as GET shows it and its site (code, address, city, timezone), unscoped: for the
    worker's channels, which act on events scoped when the change was made."""
    row = await reader.fetchrow(_VIEW_SQLITE, _VIEW_PG, ticket_id)
    if row is None:
        return None
    site = {"code": row["site_code"], "address": row["site_address"], "city": row["site_city"],
            "timezone": row["site_timezone"], "arrival": row["site_arrival"] or ""}
    return _render(row), site


_COLUMNS = ("id, title, status, site_code, bulk_request, created_at, updated_at, closed_at, requester, "
            "location_summary, request_type, ticket_category")


def _list_sql(filters: list[str], param: str) -> str:
    where = " AND ".join(f"{f} = {param.format(i + 2)}" for i, f in enumerate(filters))
    extra = f" AND {where}" if where else ""
    return (f"SELECT {_COLUMNS} FROM work_orders WHERE account_id = {param.format(1)}{extra} "
            f"ORDER BY created_at DESC, id DESC LIMIT {param.format(len(filters) + 2)} "
            f"OFFSET {param.format(len(filters) + 3)}")


def _count_sql(filters: list[str], param: str) -> str:
    where = "".join(f" AND {f} = {param.format(i + 2)}" for i, f in enumerate(filters))
    return f"SELECT coalesce(sum(n), 0) AS total FROM ticket_counts WHERE account_id = {param.format(1)}{where}"


def _count_rows_sql(filters: list[str], param: str) -> str:
    where = "".join(f" AND {f} = {param.format(i + 2)}" for i, f in enumerate(filters))
    return f"SELECT count(*) AS total FROM work_orders WHERE account_id = {param.format(1)}{where}"


async def ticket_page(reader: LeanReader, account_id: str, *, site: str | None, status: str | None,
                      created_by: str | None, size: int, page: int, request_type: str | None = None
                      ) -> tuple[list[Any], int]:
    """One page, newest first (the account/site/status/requester indexes), and the total from the
    counters table: two statements, never a COUNT over tickets. A list of one request kind (PoP/POE,
    few) counts its rows on the account/kind index instead."""
    names, values = [], []
    for column, value in (("site_code", site), ("status", status), ("requester", created_by),
                          ("request_type", request_type)):
        if value is not None:
            names.append(column)
            values.append(value)
    rows = await reader.fetch(_list_sql(names, "?"), _list_sql(names, "${}"), account_id, *values, size, page * size)
    count = _count_sql if request_type is None else _count_rows_sql
    total_row = await reader.fetchrow(count(names, "?"), count(names, "${}"), account_id, *values)
    return [SimpleNamespace(**dict(r)) for r in rows], int(total_row["total"] or 0) if total_row else 0
