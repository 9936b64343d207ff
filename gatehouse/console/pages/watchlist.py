"""The watchlist at the desk (SPEC §14): operators with the `watchlist` role search, add, import and
remove entries. The same service as /ops/v1/watchlist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from gatehouse.console import web
from gatehouse.console.auth import Person
from gatehouse.console.web import OperatorDep, check_csrf, db_of, page
from gatehouse.kit.errors import GatehouseError
from gatehouse.watchlist import service as watchlist
from gatehouse.watchlist.schemas import EntryIn

router = web.router()
PAGE_SIZE = 50


def _keeper(request: Request, person: Person) -> Response | None:
    if "watchlist" in person.roles:
        return None
    return page(request, "error.html", status=403, person=person,
                message="The watchlist is kept by operators with the role 'watchlist'.")


async def _show(request: Request, person: Person, *, q: str = "", p: int = 0, notice: str = "", error: str = "",
                form: dict[str, str] | None = None, status: int = 200) -> Response:
    listing = await watchlist.listing(db_of(request), person.sites, search=q, page=p, size=PAGE_SIZE)
    pages = max(1, (listing["total"] + PAGE_SIZE - 1) // PAGE_SIZE)
    return page(request, "watchlist.html", status=status, person=person, entries=listing["content"],
                total=listing["total"], q=q, p=p, pages=pages, notice=notice, error=error, form=form or {},
                sites=sorted(person.sites))


@router.get("/desk/watchlist")
async def watchlist_page(request: Request, person: OperatorDep, q: Annotated[str, Query(max_length=80)] = "",
                         p: Annotated[int, Query(ge=0, le=100_000)] = 0,
                         notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    return _keeper(request, person) or await _show(request, person, q=q, p=p, notice=notice)


@router.post("/desk/watchlist")
async def add_entry(request: Request, person: OperatorDep, csrf: Annotated[str, Form(max_length=100)] = "",
                    first_name: Annotated[str, Form(max_length=100)] = "",
                    last_name: Annotated[str, Form(max_length=100)] = "",
                    email: Annotated[str, Form(max_length=300)] = "",
                    date_of_birth: Annotated[str, Form(max_length=20)] = "",
                    reason: Annotated[str, Form(max_length=1000)] = "",
                    site: Annotated[str, Form(max_length=10)] = "",
                    expires_on: Annotated[str, Form(max_length=20)] = "") -> Response:
    check_csrf(person, csrf)
    if refused := _keeper(request, person):
        return refused
    form = {"first_name": first_name, "last_name": last_name, "email": email, "date_of_birth": date_of_birth,
            "reason": reason, "site": site, "expires_on": expires_on}
    data: dict[str, Any] = {"firstName": first_name.strip(), "lastName": last_name.strip(), "reason": reason.strip(),
                            "email": email.strip() or None, "dateOfBirth": date_of_birth or None,
                            "site": site or None, "expiresOn": expires_on or None}
    try:
        body = EntryIn.model_validate(data)
        entry = await watchlist.create(db_of(request), person.sites, person.name, body)
    except GatehouseError as exc:
        return await _show(request, person, error=web.said(exc), form=form, status=400)
    except ValueError as exc:  # pydantic's ValidationError: said in the form's words
        return await _show(request, person, error=web.pydantic_said(exc), form=form, status=400)
    return RedirectResponse(f"/console/desk/watchlist?notice=Added+{entry['entryId']}.", status_code=303)


@router.post("/desk/watchlist/import")
async def import_entries(request: Request, person: OperatorDep, csrf: Annotated[str, Form(max_length=100)] = "",
                         file: Annotated[UploadFile | None, File()] = None) -> Response:
    check_csrf(person, csrf)
    if refused := _keeper(request, person):
        return refused
    data = await file.read(2 * 1024 * 1024 + 1) if file is not None else b""
    try:
        if len(data) > 2 * 1024 * 1024:
            return await _show(request, person, error="At most 2 MiB of CSV per import.", status=413)
        done = await watchlist.import_csv(db_of(request), person.sites, person.name, data)
    except GatehouseError as exc:
        return await _show(request, person, error=web.said(exc), status=400)
    return RedirectResponse(f"/console/desk/watchlist?notice=Imported+{done['created']}+entries.", status_code=303)


@router.post("/desk/watchlist/{entry_id}/delete")
async def delete_entry(request: Request, person: OperatorDep, entry_id: str,
                       csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(person, csrf)
    if refused := _keeper(request, person):
        return refused
    try:
        await watchlist.delete(db_of(request), person.sites, entry_id[:20])
    except GatehouseError as exc:
        return await _show(request, person, error=exc.message, status=404)
    return RedirectResponse("/console/desk/watchlist?notice=Removed.", status_code=303)
