"""The account's people, for its admins (SPEC §16, §17: /console/a/{accountId}/people), and the
invitation link that lets a new person choose a password (/console/invite/{token})."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.accounts.models import PERMISSIONS
from gatehouse.console import people, web
from gatehouse.console.web import FormValues, PortalDep, csrf_ok, db_of, go, need, page, said, show
from gatehouse.kit.errors import GatehouseError

router = web.router()


async def _page(request: Request, p, *, error: str = "", notice: str = "", status: int = 200) -> Response:
    found = await people.members(db_of(request), p.account.id)
    own = [x for x in PERMISSIONS if p.can(x)]
    return show(request, p, "portal/people.html", status=status, people=found, own=own, error=error, notice=notice)


@router.get("/a/{account_id}/people")
async def people_page(request: Request, p: PortalDep, notice: str = "", error: str = "") -> Response:
    need(p, "users:manage")
    return await _page(request, p, notice=notice[:200], error=error[:300])


async def _form(request: Request) -> FormValues:
    async with request.form(max_files=0, max_fields=60) as multi:
        return FormValues(multi)


@router.post("/a/{account_id}/people/invite")
async def invite(request: Request, p: PortalDep) -> Response:
    form = await _form(request)
    csrf_ok(p, form.get("csrf"))
    need(p, "users:manage")
    perms = {x for x in form.getlist("perm") if isinstance(x, str) and x in PERMISSIONS}
    try:
        await people.invite(db_of(request), p.account.id, frozenset(p.account.permissions), p.person.name,
                            form.get("name", ""), form.get("email", ""), perms)
    except GatehouseError as exc:
        return await _page(request, p, error=said(exc), status=min(exc.status_code, 409))
    return go(f"{p.base}/people", notice=f"Invited {form.get('email', '')[:100]}: the mail is on its way.")


@router.post("/a/{account_id}/people/{user_id}/{action}")
async def change(request: Request, p: PortalDep, user_id: int, action: str) -> Response:
    form = await _form(request)
    csrf_ok(p, form.get("csrf"))
    need(p, "users:manage")
    db = db_of(request)
    try:
        if action == "permissions":
            wanted = {x for x in form.getlist("perm") if isinstance(x, str) and x in PERMISSIONS}
            await people.set_permissions(db, p.account.id, frozenset(p.account.permissions), user_id, wanted)
            notice = "Permissions saved."
        elif action in ("disable", "enable"):
            await people.set_disabled(db, p.account.id, p.person.user_id, user_id, action == "disable")
            notice = "Disabled: signed out everywhere." if action == "disable" else "Enabled."
        else:
            return await _page(request, p, error="No such action.", status=404)
    except GatehouseError as exc:
        return await _page(request, p, error=said(exc), status=min(exc.status_code, 409))
    return go(f"{p.base}/people", notice=notice)


@router.get("/invite/{token}")
async def invitation(request: Request, token: str) -> Response:
    found = await people.invitation_of(db_of(request), token[:80])
    if found is None:
        return page(request, "error.html", status=404, message="This invitation is no longer valid: ask for a new one.")
    return page(request, "invite.html", token=token, name=found[1].display_name, email=found[1].email, error="")


@router.post("/invite/{token}")
async def accept(request: Request, token: str, password: Annotated[str, Form(max_length=200)] = "",
                 again: Annotated[str, Form(max_length=200)] = "") -> Response:
    """The token is the credential (and this form's protection): single use, 7 days."""
    found = await people.invitation_of(db_of(request), token[:80])
    if found is None:
        return page(request, "error.html", status=404, message="This invitation is no longer valid: ask for a new one.")
    if password != again:
        return page(request, "invite.html", status=400, token=token, name=found[1].display_name,
                    email=found[1].email, error="The two passwords differ.")
    try:
        await people.accept_invitation(db_of(request), token[:80], password)
    except GatehouseError as exc:
        return page(request, "invite.html", status=400, token=token, name=found[1].display_name,
                    email=found[1].email, error=exc.message)
    return RedirectResponse("/console/login", status_code=303)
