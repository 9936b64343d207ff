"""Screening at create (SPEC §14): a planner of `access_ticket.created` on both write paths, so every
way a ticket is made (API, console, CSV, walk-ins, badges, modify) is screened in the transaction
that makes it. A hit makes the hold and its `security.watchlist_hit` event (which its own planners
turn into mail and webhook rows) in the same transaction."""

from __future__ import annotations

from typing import Any

from gatehouse.events.service import Made, NewRow, Recorded
from gatehouse.events.types import EventType
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.leanread import Rows
from gatehouse.kit.sitetime import site_today
from gatehouse.sites.models import Site
from gatehouse.watchlist.models import SecurityHold
from gatehouse.watchlist.screening import VERSION, current_index
from gatehouse.watchlist.service import hit_event, hold_row


def ahead(event: Recorded, known: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The read `plan` will make (events.read_ahead): the list's version, once per create."""
    if event.type != EventType.TICKET_CREATED or "watchlist" in known.get("memo", {}):
        return []
    return [(VERSION, {})]


async def plan(rows: Rows, event: Recorded, known: dict[str, Any]) -> list[Made]:
    if event.type != EventType.TICKET_CREATED:
        return []
    ticket = known.get("ticket")
    timezone = known.get("timezone")
    if ticket is None or ticket.id != event.object_id or timezone is None:
        ticket = await rows.get(WorkOrder, event.object_id)
        site = await rows.get(Site, ticket.site_code) if ticket is not None else None
        if ticket is None or site is None:
            return []
        timezone = site.timezone
    memo = known.setdefault("memo", {})  # one read of the list's version per create
    if "watchlist" not in memo:
        memo["watchlist"] = await current_index(rows, rows.cache_key)
    index = memo["watchlist"]
    hit = index.screen(ticket.visitor_first_name, ticket.visitor_last_name, ticket.visitor_email,
                       ticket.site_code, site_today(timezone))
    if hit is None:
        return []
    return [NewRow(SecurityHold.__table__, hold_row(ticket.id, hit, event.occurred_at)),
            hit_event(ticket, hit, "create", event.occurred_at)]
