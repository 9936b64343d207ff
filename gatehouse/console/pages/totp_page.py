"""Enrolling the second factor (SPEC §16, §17: /console/totp): a new secret as a QR code for the
authenticator app, confirmed with its first code; the ten recovery codes shown once."""

from __future__ import annotations

import base64
import io
from typing import Annotated

import segno
from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.console import totp, web
from gatehouse.console.web import PersonDep, check_csrf, db_of, page
from gatehouse.kit.errors import GatehouseError

router = web.router()


def _qr(uri: str) -> str:
    out = io.BytesIO()
    segno.make_qr(uri, error="m").save(out, kind="png", scale=6, border=4)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


async def _page(request: Request, person, *, secret: str | None = None, error: str = "",
                codes: list[str] | None = None, status: int = 200) -> Response:
    enrolled = await totp.has_factor(db_of(request), person.user_id)
    secret = secret or totp.new_secret()
    resp = page(request, "totp.html", status=status, person=person, enrolled=enrolled, secret=secret,
                required=person.must_enrol,
                qr=_qr(totp.provisioning_uri(secret, person.email or person.name)), error=error, codes=codes or [])
    resp.headers["Cache-Control"] = "no-store"  # a secret and recovery codes: never cached
    return resp


@router.get("/totp")
async def totp_page(request: Request, person: PersonDep) -> Response:
    return await _page(request, person)


@router.post("/totp")
async def totp_enrol(request: Request, person: PersonDep, csrf: Annotated[str, Form(max_length=100)] = "",
                     secret: Annotated[str, Form(max_length=64)] = "", code: Annotated[str, Form(max_length=20)] = ""
                     ) -> Response:
    check_csrf(person, csrf)
    try:
        codes = await totp.enrol(db_of(request), person.user_id, secret.strip().upper(), code)
    except GatehouseError as exc:
        return await _page(request, person, secret=secret.strip().upper() or None, error=exc.message, status=400)
    return await _page(request, person, codes=codes)


@router.post("/totp/remove")
async def totp_remove(request: Request, person: PersonDep, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(person, csrf)
    async with db_of(request).read() as session:
        from gatehouse.accounts.models import User
        from gatehouse.console.auth import totp_required

        user = await session.get(User, person.user_id)
        required = user is not None and await totp_required(session, user)
    if required:
        return await _page(request, person, status=409, error="Your organisation requires a second factor: it "
                                                             "cannot be removed, only enrolled again.")
    await totp.remove(db_of(request), person.user_id)
    return RedirectResponse("/console/totp", status_code=303)
