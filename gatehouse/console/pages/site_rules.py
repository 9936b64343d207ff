"""A site's visitor-facing settings at the desk (SPEC §15): the arrival instructions, the rules
document (Markdown; each change a new version that visitors accept again) and whether it must be
accepted before check-in. The same service as `gatehouse admin site set`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from gatehouse.console import web
from gatehouse.console.web import OperatorDep, check_csrf, db_of, page
from gatehouse.kit.errors import GatehouseError
from gatehouse.operators.repository import sites as sites_of
from gatehouse.sites import service as sites
from gatehouse.visits.rules import rules_html

router = web.router()


async def _context(request: Request, person, site: str | None) -> dict:
    async with db_of(request).read() as session:
        mine = list(await sites_of(session, sorted(person.sites)))
        chosen = next((s for s in mine if s.code == site), mine[0] if mine else None)
        rules = await sites.current_rules(session, chosen.code) if chosen else None
    return {"sites": mine, "site": chosen, "rules": rules,
            "preview": Markup(rules_html(rules.markdown)) if rules else ""}


@router.get("/desk/site-rules")
async def site_rules_page(request: Request, person: OperatorDep, site: Annotated[str | None, Query(max_length=6)] = None,
                          notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    ctx = await _context(request, person, site)
    if ctx["site"] is None:
        return page(request, "error.html", status=404, person=person, message="No such site of yours.")
    return page(request, "site_rules.html", person=person, notice=notice, error="", **ctx)


@router.post("/desk/site-rules")
async def save_site_rules(request: Request, person: OperatorDep, site: Annotated[str, Form(max_length=6)],
                          csrf: Annotated[str, Form(max_length=100)] = "",
                          arrival: Annotated[str, Form(max_length=5000)] = "",
                          rules: Annotated[str, Form(max_length=120_000)] = "",
                          require: Annotated[str, Form(max_length=5)] = "") -> Response:
    check_csrf(person, csrf)
    if site not in person.sites:
        return page(request, "error.html", status=404, person=person, message="No such site of yours.")
    try:
        async with db_of(request).write() as session:
            await sites.set_site(session, site, arrival_instructions=arrival.strip(),
                                 rules_markdown=rules.replace("\r\n", "\n").strip() or None,
                                 require_pre_check_in=require == "1")
    except GatehouseError as exc:
        ctx = await _context(request, person, site)
        return page(request, "site_rules.html", status=400, person=person, notice="", error=exc.message, **ctx)
    return RedirectResponse(f"/console/desk/site-rules?site={site}&notice=Saved.", status_code=303)
