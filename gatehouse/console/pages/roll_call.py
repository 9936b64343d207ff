"""The evacuation roll call (SPEC §14): everyone on site now, an "accounted for" mark per person that
every guard of the site sees within a second or two, printable. The same service as /ops/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from gatehouse.console import web
from gatehouse.console.web import OperatorDep, check_csrf, db_of, op_of, page
from gatehouse.kit.errors import NotFound
from gatehouse.operators import roll_call
from gatehouse.operators.repository import sites as sites_of

router = web.router()


async def _site(request: Request, person, site: str | None) -> str | None:
    async with db_of(request).read() as session:
        mine = [s.code for s in await sites_of(session, sorted(person.sites))]
    if site in mine:
        return site
    return mine[0] if mine and site is None else None


@router.get("/desk/roll-call")
async def roll_call_page(request: Request, person: OperatorDep,
                         site: Annotated[str | None, Query(max_length=6)] = None,
                         notice: Annotated[str, Query(max_length=10)] = "") -> Response:
    chosen = await _site(request, person, site)
    if chosen is None:
        return page(request, "error.html", status=404, person=person, message="No such site of yours.")
    people = await roll_call.on_site(db_of(request), op_of(person), chosen)
    said = {"started": "A new roll call: every mark cleared.",
            "closed": "Roll call closed: who was and was not accounted for is in the audit trail."}.get(notice, "")
    return page(request, "roll_call.html", person=person, site=chosen, people=people, notice=said,
                sites=sorted(person.sites), accounted=sum(p["accountedFor"] for p in people))


@router.get("/desk/roll-call.pdf")
async def roll_call_pdf(request: Request, person: OperatorDep,
                        site: Annotated[str | None, Query(max_length=6)] = None) -> Response:
    """The list to take outside, as it is now (SPEC §14)."""
    from gatehouse.kit.sitetime import site_now
    from gatehouse.operators.roll_call_pdf import roll_call_pdf as build

    chosen = await _site(request, person, site)
    if chosen is None:
        return page(request, "error.html", status=404, person=person, message="No such site of yours.")
    people = await roll_call.on_site(db_of(request), op_of(person), chosen)
    async with db_of(request).read() as session:
        timezone = next(s.timezone for s in await sites_of(session, [chosen]))
    now = site_now(timezone)
    data = build(chosen, now.strftime("%Y-%m-%d %H:%M"), timezone, people)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="roll-call-{chosen}-{now:%Y%m%d-%H%M}.pdf"',
        "Cache-Control": "no-store"})


@router.get("/desk/roll-call.json")
async def roll_call_json(request: Request, person: OperatorDep,
                         site: Annotated[str, Query(max_length=6)]) -> Response:
    """What the page polls: the marks of every guard, and who arrived or left since."""
    try:
        body = await roll_call.on_site_json(db_of(request), op_of(person), site)
    except NotFound:
        return JSONResponse({"error": "No such site of yours."}, status_code=404)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.post("/desk/roll-call/start")
async def start(request: Request, person: OperatorDep, site: Annotated[str, Form(max_length=6)],
                csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """A new roll call: every mark cleared, the start in the trail."""
    return await _step(request, person, site, csrf, roll_call.start, "started")


@router.post("/desk/roll-call/close")
async def close(request: Request, person: OperatorDep, site: Annotated[str, Form(max_length=6)],
                csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """The roll call over: who was and was not accounted for, recorded."""
    return await _step(request, person, site, csrf, roll_call.close, "closed")


async def _step(request: Request, person, site: str, csrf: str, step, said: str) -> Response:
    check_csrf(person, csrf)
    try:
        await step(db_of(request), op_of(person), site)
    except NotFound as exc:
        return page(request, "error.html", status=404, person=person, message=exc.message)
    return RedirectResponse(f"/console/desk/roll-call?site={site}&notice={said}", status_code=303)


@router.post("/desk/roll-call/{ticket_id}")
async def mark(request: Request, person: OperatorDep, ticket_id: str,
               site: Annotated[str, Form(max_length=6)], csrf: Annotated[str, Form(max_length=100)] = "",
               accounted: Annotated[str, Form(max_length=5)] = "") -> Response:
    check_csrf(person, csrf)
    try:
        done = await roll_call.mark(db_of(request), op_of(person), site, ticket_id[:20], accounted == "1")
    except NotFound as exc:
        if request.headers.get("x-requested-with") == "fetch":
            return JSONResponse({"error": exc.message}, status_code=404)
        return page(request, "error.html", status=404, person=person, message=exc.message)
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse(done)
    return RedirectResponse(f"/console/desk/roll-call?site={site}", status_code=303)
