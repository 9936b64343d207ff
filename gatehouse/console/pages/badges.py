"""Permanent badges in the portal (SPEC §13): the account's holders, a New Badge request, and ending a
holder's access; and ending a visitor's access (visitor terminate). The API's services and rules."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from gatehouse.console import web
from gatehouse.console.web import (
    FormValues,
    PageNotFound,
    PortalDep,
    csrf_ok,
    db_of,
    go,
    need,
    pydantic_said,
    said,
    show,
)
from gatehouse.facility_access import badges as badge_service
from gatehouse.facility_access import terminate
from gatehouse.facility_access.badge_schemas import PermBadgeIn, PermBadgeTerminateIn
from gatehouse.facility_access.schemas import TerminateVisitorsIn
from gatehouse.kit.errors import GatehouseError
from gatehouse.sites import repository as site_repo

router = web.router()


async def _form(request: Request) -> FormValues:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=0, max_fields=500) as multi:
            return FormValues(multi)
    except StarletteHTTPException:
        raise PageNotFound("This form is not a form of this page: reload it.", 400) from None


async def _sites(request: Request, account_id: str) -> list[dict[str, Any]]:
    async with db_of(request).read() as session:
        out = []
        for s in await site_repo.granted_sites(session, account_id):
            locs = await site_repo.visible_locations(session, account_id, s.code)
            out.append({"code": s.code, "address": s.address, "timezone": s.timezone,
                        "locations": [loc.name for loc in locs]})
    return out


@router.get("/a/{account_id}/badges")
async def badges_page(request: Request, p: PortalDep, notice: str = "", error: str = "") -> Response:
    need(p, "tickets:read")
    holders = await badge_service.holders_page(db_of(request), p.account.id, site=None, status=None, size=100, page=0)
    sites = await _sites(request, p.account.id)
    return show(request, p, "portal/badges.html", holders=holders, sites=sites, zones=_holder_zones(holders, sites),
                form={}, notice=notice[:300], error=error[:300])


def _holder_zones(holders: dict[str, Any], sites: list[dict[str, Any]]) -> dict[str, str | None]:
    """The time zone a holder's last check-in reads in: their sites' one zone (a check-in records
    no site), or None (shown in UTC, named) when their sites lie in several or none."""
    tz = {s["code"]: s["timezone"] for s in sites}
    out: dict[str, str | None] = {}
    for h in holders["content"]:
        found = {tz.get(s["site"]) for s in h["sites"]}
        out[h["badgeHolderId"]] = found.pop() if len(found) == 1 else None
    return out


@router.post("/a/{account_id}/badges")
async def request_badge(request: Request, p: PortalDep) -> Response:
    form = await _form(request)
    csrf_ok(p, form.get("csrf"))
    need(p, "permanent-badge:request")
    start, end = form.get("start", ""), form.get("end", "")
    until = end or _years_after(start, 5)  # each location's access: to the expiry, else five years
    chosen = [s for s in await _sites(request, p.account.id) if form.multi.getlist(f"loc-{s['code']}")]
    body = {"firstName": form.get("first", "").strip(), "lastName": form.get("last", "").strip(),
            "email": form.get("email", "").strip(), "company": form.get("company", "").strip(),
            "phone": form.get("phone", "").strip(), "badgeStartDate": start,
            "emailNotifications": form.get("emails", "").strip(),
            "sites": [{"site": s["code"], "locations": [
                {"location": name, "accessStartDate": start, "accessEndDate": until}
                for name in form.multi.getlist(f"loc-{s['code']}")]} for s in chosen]}
    if end:
        body["badgeExpirationDate"] = end
    try:
        made = await badge_service.request_badge(db_of(request), p.ctx, PermBadgeIn.model_validate(body, strict=False))
    except ValidationError as exc:
        return await _again(request, p, form, pydantic_said(exc))
    except GatehouseError as exc:
        return await _again(request, p, form, said(exc), exc.status_code)
    return go(f"{p.base}/badges", notice=f"Requested: {made['workOrder'][0]['workOrderId']}.")


def _years_after(day: str, years: int) -> str:
    from datetime import date

    try:
        d = date.fromisoformat(day)
    except ValueError:
        return day  # the start's own error says what is wrong
    return d.replace(year=d.year + years, day=28 if (d.month, d.day) == (2, 29) else d.day).isoformat()


async def _again(request: Request, p, form: FormValues, error: str, status: int = 400) -> Response:
    holders = await badge_service.holders_page(db_of(request), p.account.id, site=None, status=None, size=100, page=0)
    return show(request, p, "portal/badges.html", status=min(status, 409) if status >= 400 else 400, holders=holders,
                sites=await _sites(request, p.account.id), form=form, notice="", error=error[:2000])


@router.post("/a/{account_id}/badges/terminate")
async def terminate_badge(request: Request, p: PortalDep) -> Response:
    form = await _form(request)
    csrf_ok(p, form.get("csrf"))
    need(p, "permanent-badge:request")
    try:
        body = PermBadgeTerminateIn.model_validate({"firstName": form.get("first", ""), "lastName": form.get("last", ""),
                                                    "email": form.get("email", "")}, strict=False)
        made = await badge_service.terminate_badge(db_of(request), p.ctx, body)
    except ValidationError as exc:
        return go(f"{p.base}/badges", error=pydantic_said(exc))
    except GatehouseError as exc:
        return go(f"{p.base}/badges", error=said(exc))
    return go(f"{p.base}/badges", notice=f"Access ends: {made['workOrder'][0]['workOrderId']}.")


@router.post("/a/{account_id}/visitors/terminate")
async def terminate_visitor(request: Request, p: PortalDep) -> Response:
    """End every open visit of a visitor (visitor terminate), from the requests page."""
    form = await _form(request)
    csrf_ok(p, form.get("csrf"))
    need(p, "visitor-access:request")
    body = {"visitors": [{"visitorFirstName": form.get("first", "").strip(), "visitorLastName": form.get("last", "").strip(),
                          "visitorEmail": form.get("email", "").strip()}]}
    if form.get("end"):
        body["visitorBadgeEndDate"] = form.get("end", "")
    try:
        made = await terminate.terminate_visitors(db_of(request), p.ctx,
                                                  TerminateVisitorsIn.model_validate(body, strict=False), None)
    except ValidationError as exc:
        return go(f"{p.base}/requests", error=pydantic_said(exc))
    except GatehouseError as exc:
        return go(f"{p.base}/requests", error=said(exc))
    return go(f"{p.base}/requests", notice=f"Terminated: {made['workOrder'][0]['workOrderId']}.")
