"""Screening at create (SPEC §14): a subscriber of `access_ticket.created` on both write paths, so
every way a ticket is made (API, console, CSV, walk-ins, badges, modify) is screened in the
transaction that makes it. A hit adds the hold and its `security.watchlist_hit` event (with that
event's own mail and webhook rows) to the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events import service as events
from gatehouse.events.service import Recorded
from gatehouse.events.types import EventType
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.leanwrite import Statement, insert
from gatehouse.kit.sitetime import site_today
from gatehouse.sites.models import Site
from gatehouse.watchlist.models import SecurityHold
from gatehouse.watchlist.screening import current_index
from gatehouse.watchlist.service import hit_event, hold_row, screen


async def on_event(session: AsyncSession, event: Recorded) -> None:
    if event.type != EventType.TICKET_CREATED:
        return
    ticket = await session.get(WorkOrder, event.object_id)
    site = await session.get(Site, ticket.site_code) if ticket is not None else None
    if ticket is not None and site is not None:
        await screen(session, ticket, site_today(site.timezone), "create")


async def plan(reader: Any, event: Recorded, known: dict[str, Any]) -> list[Any]:
    """The lean create's screening: the hold's row, the hit's trail row and its channels' rows."""
    ticket = known.get("ticket")
    if event.type != EventType.TICKET_CREATED or ticket is None or ticket.id != event.object_id:
        return []
    index = await current_index(reader, reader.cache_key)
    hit = index.screen(ticket.visitor_first_name, ticket.visitor_last_name, ticket.visitor_email,
                       ticket.site_code, site_today(known["timezone"]))
    if hit is None:
        return []
    hit_at = event.occurred_at
    out: list[Statement] = [insert(SecurityHold.__table__, hold_row(ticket.id, hit, hit_at))]
    statements, _queued = await events.lean_statements(reader, hit_event(ticket, hit, "create", hit_at), known)
    return out + statements
