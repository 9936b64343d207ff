"""Operator administration, sites (SPEC §16): sites (address, time zone, arrival instructions, rules
document, the desk's requirements), their location tree (PoP/POE rooms marked) and the grants of
sites and locations to accounts. The same services as `gatehouse admin site|location|grant`."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import available_timezones

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.accounts.models import Account
from gatehouse.console import web
from gatehouse.console.auth import Person
from gatehouse.console.web import AdminDep, db_of, page, posted
from gatehouse.kit.errors import GatehouseError
from gatehouse.sites import repository as site_repo
from gatehouse.sites import service as sites
from gatehouse.sites.models import Site

router = web.router()
SIZE = 25
ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/", "posix/", "right/")))


async def _sites(request: Request, person: Person, *, q: str = "", p: int = 0, notice: str = "", error: str = "",
                 status: int = 200) -> Response:
    async with db_of(request).read() as session:
        rows, total = await site_repo.sites_page(session, q.strip(), p, SIZE)
    return page(request, "admin/sites.html", status=status, person=person, area="sites", rows=rows, total=total, q=q,
                p=p, pages=max(1, -(-total // SIZE)), notice=notice, error=error, zones=ZONES)


@router.get("/admin/sites")
async def sites_page(request: Request, person: AdminDep, q: Annotated[str, Query(max_length=80)] = "",
                     p: Annotated[int, Query(ge=0, le=100_000)] = 0) -> Response:
    return await _sites(request, person, q=q, p=p)


@router.post("/admin/sites")
async def create_site(request: Request, person: AdminDep) -> Response:
    form = await posted(request, person)
    value = form.text
    code = value("code", 6).upper()
    try:
        async with db_of(request).write() as session:
            await sites.create_site(session, code, address=value("address"), city=value("city", 100),
                                    metro=value("metro", 100), country=value("country", 100),
                                    timezone=value("timezone", 64))
    except GatehouseError as exc:
        return await _sites(request, person, error=exc.message, status=400)
    return RedirectResponse(f"/console/admin/sites/{code}?notice=Created.", status_code=303)


async def _site(request: Request, person: Person, code: str, *, notice: str = "", error: str = "",
                status: int = 200) -> Response:
    async with db_of(request).read() as session:
        site = await session.get(Site, code[:6])
        if site is None:
            raise web.PageNotFound("No such site.")
        locations = await site_repo.locations_of_site(session, site.code)
        rules = await sites.current_rules(session, site.code)
        grants = await site_repo.site_grants(session, site.code)
        from sqlalchemy import select

        all_accounts = (await session.execute(select(Account.id, Account.name).order_by(Account.name))).all()
    names = {loc["id"]: loc["location"] for loc in locations}
    depth: dict[int, int] = {}
    for loc in locations:  # parents come first (ids ascend): the tree's indentation
        depth[loc["id"]] = depth.get(loc["parentId"], -1) + 1 if loc["parentId"] else 0
    tree = [{**loc, "depth": depth[loc["id"]], "parent": names.get(loc["parentId"], "")} for loc in locations]
    return page(request, "admin/site.html", status=status, person=person, area="sites", site=site, tree=tree,
                rules=rules, grants=grants, accounts=all_accounts, notice=notice, error=error)


@router.get("/admin/sites/{code}")
async def site_page(request: Request, person: AdminDep, code: str,
                    notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _site(request, person, code, notice=notice)


@router.post("/admin/sites/{code}/{action}")
async def site_action(request: Request, person: AdminDep, code: str, action: str) -> Response:
    """settings, location, grant: one form each on the site's page."""
    form = await posted(request, person)
    value = form.text
    code = code[:6]
    try:
        async with db_of(request).write() as session:
            await sites.get_site(session, code)  # 404 for an unknown code, before anything
            if action == "settings":
                await sites.set_site(session, code, arrival_instructions=value("arrival", 5000),
                                     rules_markdown=form.text("rules", 120_000).replace("\r\n", "\n")
                                     or None, require_pre_check_in=value("pre_check_in") == "1",
                                     require_identity_check=value("identity") == "1",
                                     require_escort_confirmation=value("escort") == "1")
                notice = "Saved."
            elif action == "location":
                await sites.create_location(session, code, value("name", 100), value("parent", 100) or None,
                                            "pop-poe" if value("pop_poe") == "1" else "room")
                notice = "Location added."
            elif action == "grant":
                if value("location", 100):
                    await sites.grant_location(session, value("account_id", 18), code, value("location", 100))
                else:
                    await sites.grant_site(session, value("account_id", 18), code)
                notice = "Granted."
            else:
                raise web.PageNotFound("No such action.")
    except GatehouseError as exc:
        if exc.status_code == 404 and action not in ("grant", "location"):
            raise web.PageNotFound("No such site.") from None
        return await _site(request, person, code, error=web.said(exc), status=400)
    return RedirectResponse(f"/console/admin/sites/{code}?notice={notice}", status_code=303)
