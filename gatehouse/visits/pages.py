"""The visitor's own page (SPEC §15): `/visit/{token}`, no sign-in — the visit's details in site time,
the QR the desk scans, the calendar file. A wrong token, an expired visit and a cancelled one answer
alike (the same page, the same status), so the page tells nothing to someone guessing."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from gatehouse.auth import client_secrets
from gatehouse.facility_access import lifecycle, reads
from gatehouse.kit.errors import GatehouseError
from gatehouse.kit.sitetime import local, site_today, window_text
from gatehouse.visits import limits
from gatehouse.visits.calendar import visit_calendar
from gatehouse.visits.rules import accept, accepted, rules_html, rules_of
from gatehouse.visits.tokens import work_order_of

router = APIRouter(include_in_schema=False)


def install(app) -> None:
    """The page's routes, and its answer to a caller going too fast."""
    app.include_router(router)

    async def throttled(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Throttled)
        return templates.TemplateResponse(request, "slow.html", {"seconds": exc.seconds}, status_code=429,
                                          headers={"Retry-After": str(exc.seconds), "Cache-Control": "no-store"})

    app.add_exception_handler(Throttled, throttled)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["window"] = window_text
templates.env.filters["local"] = local


class Throttled(Exception):
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds


async def _visit(request: Request, token: str) -> tuple[dict, dict] | None:
    """The live visit a token names, or None (wrong, cancelled, denied, ended: all alike)."""
    address = request.client.host if request.client else ""
    wait = limits.addresses.retry_after(address) or limits.tokens.retry_after(token)
    if wait is not None:
        raise Throttled(wait)
    db = request.app.state.db
    async with db.read() as session:
        key = await client_secrets.key(session)
    wo = work_order_of(key, token)
    if wo is None:
        return None
    found = await reads.ticket_view(db.reader, wo)
    if found is None:
        return None
    ticket, site = found
    if not lifecycle.is_open(ticket["ticketStatus"]) or ticket["ticketCategory"] in (
            lifecycle.TERMINATE_CATEGORY, lifecycle.TERMINATE_BADGE_CATEGORY):
        return None
    end = ticket["badgeEndDate"]
    if end and site_today(site["timezone"]).isoformat() > end:
        return None
    return ticket, site


def _gone(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "gone.html", {}, status_code=404,
                                      headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.get("/visit/{token}.ics")
async def calendar(request: Request, token: str) -> Response:
    found = await _visit(request, token[:80])
    if found is None:
        return _gone(request)
    ticket, site = found
    url = str(request.url).removesuffix(".ics")
    return Response(visit_calendar(ticket, site, url=url), media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="visit-{ticket["ticketId"]}.ics"', "Cache-Control": "no-store"})


@router.get("/visit/{token}")
async def visit_page(request: Request, token: str) -> HTMLResponse:
    found = await _visit(request, token[:80])
    if found is None:
        return _gone(request)
    ticket, site = found
    return await _page(request, token, ticket, site)


async def _page(request: Request, token: str, ticket: dict, site: dict, *, error: str = "",
                status: int = 200, notice: str = "") -> HTMLResponse:
    """The visit's page, with what went wrong or right of a form it just took."""
    db = request.app.state.db
    qr = io.BytesIO()
    segno.make_qr(ticket["ticketId"], error="m").save(qr, kind="png", scale=8, border=4)
    rules = await rules_of(db, site["code"])
    done = await accepted(db, ticket["ticketId"])
    return templates.TemplateResponse(request, "visit.html", {
        "t": ticket, "site": site, "token": token, "tz": site["timezone"],
        "qr": "data:image/png;base64," + base64.b64encode(qr.getvalue()).decode(),
        "pending": ticket["ticketStatus"] == lifecycle.Status.PENDING, "error": error, "notice": notice,
        "rules": rules, "rules_html": Markup(rules_html(rules.markdown)) if rules else "",
        "accepted": done if done and rules and done["version"] == rules.version else None,
    }, status_code=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.post("/visit/{token}")
async def accept_rules(request: Request, token: str, name: Annotated[str, Form(max_length=200)] = "",
                       version: Annotated[int, Form(ge=0, le=1_000_000)] = 0) -> HTMLResponse:
    """The visitor accepts the site's rules by typing their full name (the token is the credential)."""
    found = await _visit(request, token[:80])
    if found is None:
        return _gone(request)
    ticket, site = found
    try:
        await accept(request.app.state.db, ticket, version, name, request.client.host if request.client else "")
    except GatehouseError as exc:
        return await _page(request, token, ticket, site, error=exc.message, status=exc.status_code)
    return await _page(request, token, ticket, site)


@router.post("/visit/{token}/details")
async def add_details(request: Request, token: str) -> HTMLResponse:
    """The visitor adds a phone number and a photo for the desk (SPEC §15); the token is the credential."""
    from pydantic import TypeAdapter, ValidationError
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from gatehouse.kit.wire import Text
    from gatehouse.operators.photos import MAX_BYTES, save_photo

    found = await _visit(request, token[:80])
    if found is None:
        return _gone(request)
    ticket, site = found
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES + 64 * 1024:
        return await _page(request, token, ticket, site, error="The photo is larger than 2 MiB.",
                           status=413)
    try:
        async with request.form(max_files=1, max_fields=5) as form:
            phone = form.get("phone")
            upload = form.get("photo")
            data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
        db = request.app.state.db
        if isinstance(phone, str) and phone.strip() and phone.strip() != ticket["contactPhone"]:
            value = TypeAdapter(Annotated[str, Text(40, 1)]).validate_python(phone.strip())
            await _set_phone(db, ticket, value)
        if data:
            await save_photo(db, None, ticket["ticketId"], data)
    except StarletteHTTPException:
        return await _page(request, token, ticket, site, error="This form could not be read.", status=400)
    except ValidationError:
        return await _page(request, token, ticket, site, status=400,
                           error="A phone number is one line of at most 40 characters.")
    except GatehouseError as exc:
        return await _page(request, token, ticket, site, error=exc.message, status=exc.status_code)
    found = await _visit(request, token[:80])
    ticket, site = found if found else (ticket, site)
    return await _page(request, token, ticket, site, notice="Thank you: the desk has it.")


async def _set_phone(db, ticket: dict, phone: str) -> None:
    from sqlalchemy import select, update

    from gatehouse.events import service as events
    from gatehouse.facility_access.models import WorkOrder
    from gatehouse.kit.db import utcnow

    now = utcnow()
    async with db.write() as session:
        await session.execute(update(WorkOrder).where(WorkOrder.id == ticket["ticketId"])
                              .values(visitor_phone=phone, updated_at=now).execution_options(synchronize_session=False))
        account = (await session.execute(select(WorkOrder.account_id).where(WorkOrder.id == ticket["ticketId"]))
                   ).scalar()
        await events.record(session, "access_ticket.updated", object_id=ticket["ticketId"], account_id=account,
                            site_code=ticket["site"][0]["site"], at=now, data={"fields": ["visitorPhone"], "by": "visitor"})
