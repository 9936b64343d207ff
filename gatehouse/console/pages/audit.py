"""The audit trail (SPEC §9) for audit:read, as a person reads it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from gatehouse.console import web
from gatehouse.console.web import Portal, PortalDep, db_of, need, said, show, zones
from gatehouse.kit.errors import ValidationFailed
from gatehouse.sites import repository as site_repo

router = web.router()


@router.get("/a/{account_id}/audit")
async def audit_page(request: Request, p: PortalDep, type_: Annotated[str, Query(alias="type", max_length=64)] = "",
                     object_id: Annotated[str, Query(alias="objectId", max_length=64)] = "",
                     since: Annotated[str, Query(max_length=40)] = "", until: Annotated[str, Query(max_length=40)] = "",
                     cursor: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """The trail as a person reads it: newest first, each time in its site's zone, details as words."""
    from gatehouse.audit import service as trail
    from gatehouse.events.service import TYPES

    need(p, "audit:read")
    error = ""
    try:
        # the pickers give whole days; "to" includes its day
        last = (date.fromisoformat(until) + timedelta(days=1)).isoformat() if _is_day(until) else until
        where = trail.event_filter(since or None, last or None, type_ or None, object_id or None,
                                   account_id=p.account.id)
        found = await trail.page(db_of(request), where, cursor, 50, newest_first=True)
    except ValidationFailed as exc:
        error, found = said(exc), {"content": [], "nextCursor": None}
    filters = {"type": type_, "objectId": object_id, "since": since, "until": until}
    next_url = (f"{p.base}/audit?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                "cursor": found["nextCursor"]})) if found["nextCursor"] else ""
    return show(request, p, "portal/audit.html", found=found, filters=filters, types=sorted(TYPES), error=error,
                next_url=next_url, zones=await zones(request, p))


def _is_day(value: str) -> bool:
    try:
        return len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


async def _zones(request: Request, p: Portal) -> dict[str, str]:
    """The time zone of each site of the account: times are shown in their site's time."""
    async with db_of(request).read() as session:
        return {s.code: s.timezone for s in await site_repo.granted_sites(session, p.account.id)}
