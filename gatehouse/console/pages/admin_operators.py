"""Operator administration, staff and deliveries (SPEC §16): operators with their sites and roles
(desk, watchlist, admin), invited by email like customers; whether operators need a second factor;
and the mails and webhook deliveries that died, retried from here."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.accounts import repository as tenancy
from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import OPERATOR_ROLES, SignInPolicy
from gatehouse.console import people, web
from gatehouse.console.auth import Person
from gatehouse.console.web import AdminDep, db_of, page, posted
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.kit.errors import BadRequest, GatehouseError
from gatehouse.sites import repository as site_repo
from gatehouse.sites import service as sites
from gatehouse.worker import repository as outbox

router = web.router()
SIZE = 25


async def _operators(request: Request, person: Person, *, q: str = "", p: int = 0, notice: str = "", error: str = "",
                     status: int = 200) -> Response:
    async with db_of(request).read() as session:
        rows, total = await tenancy.operators_page(session, q.strip(), p, SIZE)
        all_sites = [s["site"] for s in await site_repo.all_sites(session)]
        policy = await session.get(SignInPolicy, 1)
    return page(request, "admin/operators.html", status=status, person=person, area="operators", rows=rows,
                total=total, q=q, p=p, pages=max(1, -(-total // SIZE)), sites=all_sites, roles=OPERATOR_ROLES,
                totp_required=bool(policy and policy.operators_require_totp), notice=notice, error=error)


@router.get("/admin/operators")
async def operators_page(request: Request, person: AdminDep, q: Annotated[str, Query(max_length=80)] = "",
                         p: Annotated[int, Query(ge=0, le=100_000)] = 0,
                         notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _operators(request, person, q=q, p=p, notice=notice)


@router.post("/admin/operators/{action}")
async def operators_action(request: Request, person: AdminDep, action: str) -> Response:
    """create (and invite), set (roles and sites of one), totp (the operators' policy)."""
    form = await posted(request, person)
    chosen_sites, roles, value = form.all("sites"), form.all("roles"), form.text
    try:
        async with db_of(request).write() as session:
            for code in chosen_sites:
                await sites.get_site(session, code)
            if action == "create":
                if not value("email"):
                    raise BadRequest("An operator is invited by email: give their address.")
                name = value("name")
                if not 1 <= len(name) <= 40:
                    raise BadRequest("A name is 1-40 characters.")
                user = await accounts.create_operator(session, name, chosen_sites, value("email"), roles)
                await people.send_invitation(session, user, person.name, "the site security team",
                                             data={"operator": True, "roles": roles, "sites": chosen_sites})
                notice = f"Invitation mailed to {user.email}."
            elif action == "set":
                if not value("user_id").isdigit():
                    raise BadRequest("No such operator.")
                await accounts.set_operator(session, int(value("user_id")), roles=roles, sites=chosen_sites)
                notice = "Saved."
            elif action == "totp":
                await accounts.set_operators_require_totp(session, value("required") == "1")
                notice = "Saved."
            else:
                raise web.PageNotFound("No such action.")
    except GatehouseError as exc:
        return await _operators(request, person, error=web.said(exc), status=400)
    return RedirectResponse(f"/console/admin/operators?notice={notice}", status_code=303)


@router.get("/admin/outbox")
async def outbox_page(request: Request, person: AdminDep,
                      status: Annotated[str, Query(max_length=10)] = "dead",
                      channel: Annotated[str, Query(max_length=10)] = "",
                      notice: Annotated[str, Query(max_length=200)] = "", error: str = "") -> Response:
    status = status if status in outbox.STATUSES else "dead"
    channel = channel if channel in ("mail", "webhook") else ""
    async with db_of(request).read() as session:
        rows = await outbox.listing(session, channel=channel or None, status=status, limit=100)
    return page(request, "admin/outbox.html", person=person, area="outbox", rows=rows, shown=status,
                channel=channel, statuses=outbox.STATUSES, notice=notice, error=error)


@router.post("/admin/outbox/{message_id}/retry")
async def retry(request: Request, person: AdminDep, message_id: int) -> Response:
    await posted(request, person)
    try:
        async with db_of(request).write() as session:
            done = await outbox.retry(session, message_id)
            await events.record(session, EventType.OUTBOX_RETRIED, object_id=str(message_id),
                                data={"messageId": message_id, "channel": done["channel"]})
    except GatehouseError as exc:
        return RedirectResponse(f"/console/admin/outbox?notice={exc.message}", status_code=303)
    return RedirectResponse(f"/console/admin/outbox?notice=Message+{message_id}+queued+again.", status_code=303)
