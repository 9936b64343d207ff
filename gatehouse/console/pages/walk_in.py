"""A walk-in at the desk (SPEC §14): the guard picks the customer (an account granted the site) and
fills the visit; the request is made on the customer's behalf with the API's rules, and the desk's
ticket page shows the approver's decision when it comes, without a reload."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.console import web
from gatehouse.console.web import FormValues, OperatorDep, PageNotFound, check_csrf, db_of, op_of, page
from gatehouse.facility_access.schemas import AccessRequestIn
from gatehouse.kit.errors import GatehouseError
from gatehouse.kit.sitetime import site_today
from gatehouse.operators import walk_in as walk_ins
from gatehouse.operators.repository import accounts_at_site
from gatehouse.operators.repository import sites as sites_of
from gatehouse.sites import repository as site_repo

router = web.router()


async def _choices(request: Request, person, site: str | None, account: str | None) -> dict[str, Any]:
    async with db_of(request).read() as session:
        mine = list(await sites_of(session, sorted(person.sites)))
        chosen = next((s for s in mine if s.code == site), mine[0] if mine else None)
        if chosen is None:
            return {"sites": [], "site": None, "accounts": [], "account": None, "locations": []}
        accounts = await accounts_at_site(session, chosen.code)
        picked = next((a for a in accounts if a[0] == account), None)
        locations = ([loc.name for loc in await site_repo.visible_locations(session, picked[0], chosen.code)]
                     if picked else [])
    return {"sites": mine, "site": chosen, "accounts": accounts, "account": picked, "locations": locations,
            "today": site_today(chosen.timezone).isoformat()}


@router.get("/desk/walk-in")
async def walk_in_page(request: Request, person: OperatorDep, site: Annotated[str | None, Query(max_length=6)] = None,
                       account: Annotated[str | None, Query(max_length=18)] = None) -> Response:
    return page(request, "walk_in.html", person=person, form={}, error="",
                **await _choices(request, person, site, account))


@router.post("/desk/walk-in")
async def walk_in(request: Request, person: OperatorDep) -> Response:
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=0, max_fields=200) as multi:
            form = FormValues(multi)
    except StarletteHTTPException:
        raise PageNotFound("This form is not the walk-in form: reload it.", 400) from None
    check_csrf(person, form.get("csrf"))
    ctx = await _choices(request, person, form.get("site"), form.get("account"))
    if ctx["site"] is None or ctx["account"] is None:
        return page(request, "walk_in.html", status=400, person=person, form=form,
                    error="Pick the site and the customer first.", **ctx)
    day = form.get("day") or ctx["today"]
    until = form.get("until") or day
    escorted = form.get("escorted", "yes") != "no"
    body = {"visitors": [{"visitorFirstName": form.get("first", "").strip(), "visitorLastName": form.get("last", "").strip(),
                          "visitorEmail": form.get("email", "").strip(), "visitorPhone": form.get("phone", "").strip()}],
            "sites": [{"site": ctx["site"].code, "locations": [
                {"location": name, "accessStartDate": day, "accessEndDate": until}
                for name in multi_list(form, "loc")]}],
            "visitorType": escorted, "escortFirstName": form.get("escort-first", "").strip() if escorted else "",
            "escortLastName": form.get("escort-last", "").strip() if escorted else "",
            "visitorHostFirstName": form.get("host-first", "").strip(),
            "visitorHostLastName": form.get("host-last", "").strip(),
            "visitorHostCompany": form.get("host-company", "").strip(), "company": form.get("company", "").strip(),
            "visitorBadgeStartDate": day, "visitorBadgeEndDate": until, "isExtendedVisitorBadge": False,
            "isBulkRequest": False, "notes": form.get("notes", "").strip()}
    try:
        request_in = AccessRequestIn.model_validate(body)
        made = await walk_ins.create_walk_in(db_of(request), op_of(person), ctx["account"][0], request_in,
                                             key=f"walk-in-{form.get('idem', '')[:64]}" if form.get("idem") else None)
    except ValidationError as exc:
        return page(request, "walk_in.html", status=400, person=person, form=form, error=web.pydantic_said(exc), **ctx)
    except GatehouseError as exc:
        return page(request, "walk_in.html", status=min(exc.status_code, 409), person=person, form=form,
                    error=web.said(exc), **ctx)
    return RedirectResponse(f"/console/desk/tickets/{made['workOrder'][0]['workOrderId']}", status_code=303)


def multi_list(form: FormValues, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]

