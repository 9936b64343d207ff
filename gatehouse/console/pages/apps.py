"""The person's apps: client id and secret for the API (secret shown once), rotate, disable, strict."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.auth import repository as auth_repo
from gatehouse.auth import service as apps
from gatehouse.console import web
from gatehouse.console.auth import Person
from gatehouse.console.web import (
    Held,
    PersonDep,
    check_csrf,
    db_of,
    held_accounts,
    page,
)
from gatehouse.kit.errors import GatehouseError

router = web.router()


async def _apps_page(request: Request, person: Person, *, shown: dict[str, str] | None = None, error: str = "",
                     status: int = 200) -> Response:
    async with db_of(request).read() as session:
        mine = await auth_repo.apps_of_user(session, person.user_id)
    held = await held_accounts(request, person)
    resp = page(request, "portal/apps.html", status=status, person=person, apps=mine, shown=shown, error=error,
                portal=_bare_portal(person, held), idem=uuid.uuid4().hex)
    resp.headers["Cache-Control"] = "no-store"  # a secret shown once must not sit in a cache
    return resp


def _bare_portal(person: Person, held: list[Held]) -> Any:
    """The layout's account switcher on pages that belong to the person, not to one account."""
    return {"accounts": held, "account": held[0] if held else None, "base": f"/console/a/{held[0].id}" if held else ""}


@router.get("/apps")
async def apps_page(request: Request, person: PersonDep) -> Response:
    if person.is_operator:
        return RedirectResponse("/console/desk", status_code=303)
    return await _apps_page(request, person)


@router.post("/apps")
async def app_create(request: Request, person: PersonDep, csrf: Annotated[str, Form(max_length=100)] = "",
                     name: Annotated[str, Form(max_length=1000)] = "",
                     idem: Annotated[str, Form(max_length=64)] = "",
                     strict: Annotated[str, Form(max_length=10)] = "") -> Response:
    """The form carries a one-time key: a reload that re-posts it (or a double click) finds the app
    made the first time instead of making another; its secret stays shown once."""
    from gatehouse.facility_access import idempotency

    check_csrf(person, csrf)
    if person.is_operator:
        return RedirectResponse("/console/desk", status_code=303)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        return await _apps_page(request, person, error="Name the app: 1-100 characters.", status=400)
    db = db_of(request)
    claim = None
    if idem:
        try:
            claim = await idempotency.claim(db, -person.user_id, f"app-{idem}", idempotency.fingerprint(name, ""))
        except GatehouseError as exc:
            return await _apps_page(request, person, error=exc.message, status=409)
        if claim.replay is not None:
            return await _apps_page(request, person, error=f"This form was already sent: app "
                                    f"{claim.replay.get('clientId', '')} was made then, and its secret shown once. "
                                    "Make a new secret if it was lost.", status=409)
    try:
        async with db.write() as session:
            if len(await auth_repo.apps_of_user(session, person.user_id)) >= 20:
                return await _apps_page(request, person, error="At most 20 apps per person.", status=409)
            made = await apps.create_app(session, person.user_id, name, strict=strict == "1")
            if claim is not None:
                await idempotency.complete(session, claim, {"clientId": made.client_id})
    except BaseException:
        if claim is not None:
            await idempotency.release(db, claim)
        raise
    return await _apps_page(request, person, shown={"clientId": made.client_id, "secret": made.client_secret,
                                                   "what": f"App '{name}' created."})


@router.post("/apps/{client_id}/{action}")
async def app_action(request: Request, person: PersonDep, client_id: str, action: str,
                     csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(person, csrf)
    if person.is_operator or action not in ("rotate", "disable", "enable", "strict", "tolerant"):
        return page(request, "error.html", status=404, person=person, message="No such app of yours.")
    async with db_of(request).write() as session:
        app = await auth_repo.app_by_client_id(session, client_id[:64])
        if app is None or app.user_id != person.user_id:  # another person's app is not found
            return page(request, "error.html", status=404, person=person, message="No such app of yours.")
        if action == "rotate":
            made = await apps.rotate_secret(session, app.client_id)
        elif action in ("strict", "tolerant"):
            await apps.set_app_strict(session, app.client_id, action == "strict")
        else:
            await apps.set_app_enabled(session, app.client_id, action == "enable")
    if action == "rotate":
        return await _apps_page(request, person, shown={
            "clientId": made.client_id, "secret": made.client_secret,
            "what": "New secret: the old one and its tokens stopped working."})
    return RedirectResponse("/console/apps", status_code=303)
