"""Webhooks (SPEC §11) for webhooks:manage: endpoints, secrets, delivery logs, redelivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import Response

from gatehouse.console import web
from gatehouse.console.web import (
    FormValues,
    PageNotFound,
    Portal,
    PortalDep,
    csrf_ok,
    db_of,
    go,
    need,
    said,
    show,
)
from gatehouse.kit.errors import GatehouseError, NotFound, ValidationFailed

router = web.router()


def _owner(p: Portal):
    from gatehouse.webhooks.repository import Owner

    return Owner(account_id=p.account.id)


@router.get("/a/{account_id}/webhooks")
async def webhooks_page(request: Request, p: PortalDep) -> Response:
    from gatehouse.webhooks import service as hooks

    need(p, "webhooks:manage")
    return await _webhooks_page(request, p, await hooks.listing(db_of(request), _owner(p)))


async def _webhooks_page(request: Request, p: Portal, listing: list[dict], *, form: dict | None = None,
                         errors: dict[str, str] | None = None, status: int = 200) -> Response:
    from gatehouse.webhooks.service import SUBSCRIBABLE

    return show(request, p, "portal/webhooks.html", status=status, hooks=listing, types=sorted(SUBSCRIBABLE),
                form=form or {}, errors=errors or {})


@router.post("/a/{account_id}/webhooks")
async def webhook_create(request: Request, p: PortalDep) -> Response:
    from gatehouse.webhooks import service as hooks

    async with request.form(max_files=0, max_fields=50) as multi:
        form = FormValues(multi)
    csrf_ok(p, form.get("csrf"))
    need(p, "webhooks:manage")
    types = [t for t in form.getlist("eventTypes") if isinstance(t, str)]
    url, description = form.get("url", "").strip(), form.get("description", "").strip()
    errors = {}
    if len(url) > 2000:
        errors["url"] = "Payload 'url' must be at most 2000 characters."
    if len(description) > 500:
        errors["description"] = "Payload 'description' must be at most 500 characters."
    if not errors:
        try:
            made = await hooks.create(db_of(request), _owner(p), site_code=None, url=url, event_types=types,
                                      description=description, enabled=True, created_by=p.person.name,
                                      allow_private=request.app.state.settings.webhook_allow_private)
        except ValidationFailed as exc:
            errors = {d.field: d.message for d in exc.details}
        except GatehouseError as exc:
            errors = {"form": exc.message}
    if errors:
        return await _webhooks_page(request, p, await hooks.listing(db_of(request), _owner(p)),
                                    form={"url": url, "description": description, "eventTypes": types},
                                    errors=errors, status=400)
    return await _webhook_page(request, p, made["webhookId"], secret=made["secret"],
                               message="Webhook added. Keep its signing secret now: it is not shown again.")


async def _webhook_page(request: Request, p: Portal, webhook_id: str, *, secret: str = "", message: str = "",
                        error: str = "", cursor: str | None = None) -> Response:
    from gatehouse.webhooks import service as hooks

    try:
        hook = await hooks.read(db_of(request), _owner(p), webhook_id[:36])
        log = await hooks.deliveries(db_of(request), _owner(p), webhook_id[:36], cursor=cursor, size=25)
    except NotFound:
        raise PageNotFound("No such webhook in this account.") from None
    except ValidationFailed:
        log = await hooks.deliveries(db_of(request), _owner(p), webhook_id[:36], cursor=None, size=25)
    resp = show(request, p, "portal/webhook.html", hook=hook, log=log, secret=secret, message=message, error=error)
    if secret:
        resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("/a/{account_id}/webhooks/{webhook_id}")
async def webhook_page(request: Request, p: PortalDep, webhook_id: str,
                       cursor: Annotated[str | None, Query(max_length=20)] = None,
                       notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    need(p, "webhooks:manage")
    return await _webhook_page(request, p, webhook_id, cursor=cursor, message=notice)


@router.post("/a/{account_id}/webhooks/{webhook_id}/{action}")
async def webhook_action(request: Request, p: PortalDep, webhook_id: str, action: str,
                         csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    from gatehouse.webhooks import service as hooks

    csrf_ok(p, csrf)
    need(p, "webhooks:manage")
    db, owner, wid = db_of(request), _owner(p), webhook_id[:36]
    try:
        if action == "test":
            await hooks.send_test(db, owner, wid)
            return go(f"{p.base}/webhooks/{wid}", notice="A webhook.test event is on its way.")
        if action == "rotate":
            done = await hooks.rotate(db, owner, wid)
            return await _webhook_page(request, p, wid, secret=done["secret"],
                                       message="New secret. The old one keeps signing beside it for 24 hours.")
        if action in ("enable", "disable"):
            await hooks.update(db, owner, wid, {"enabled": action == "enable"}, True)
            return go(f"{p.base}/webhooks/{wid}", notice="Enabled." if action == "enable" else "Disabled.")
        if action == "delete":
            await hooks.delete(db, owner, wid)
            return go(f"{p.base}/webhooks")
    except NotFound:
        raise PageNotFound("No such webhook in this account.") from None
    except GatehouseError as exc:
        return await _webhook_page(request, p, wid, error=said(exc))
    raise PageNotFound("No such action.")


@router.post("/a/{account_id}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
async def webhook_redeliver(request: Request, p: PortalDep, webhook_id: str, delivery_id: str,
                            csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    from gatehouse.webhooks import service as hooks

    csrf_ok(p, csrf)
    need(p, "webhooks:manage")
    try:
        await hooks.redeliver(db_of(request), _owner(p), webhook_id[:36], delivery_id[:18])
    except NotFound:
        raise PageNotFound("No such delivery of this account's webhooks.") from None
    except GatehouseError as exc:
        return await _webhook_page(request, p, webhook_id, error=said(exc))
    return go(f"{p.base}/webhooks/{webhook_id[:36]}", notice="Sent again: the new attempt is at the top.")
