"""Signing in and out, the home redirect, changing one's password."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gatehouse.console import auth, totp, web
from gatehouse.console.auth import SignInRefused
from gatehouse.console.web import (
    COOKIE,
    PersonDep,
    check_csrf,
    db_of,
    page,
    same_origin,
)
from gatehouse.kit.errors import GatehouseError

router = web.router()


LOGIN_COOKIE = "gh_login"  # the sign-in form's CSRF token (double submit): there is no session yet


def _login_page(request: Request, status: int = 200, **context: Any) -> HTMLResponse:
    """The sign-in form with its CSRF token: the one the browser already holds, or a new one."""
    token = request.cookies.get(LOGIN_COOKIE) or ""
    if not (20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(32)
    resp = page(request, "login.html", status=status, csrf=token, **context)
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console/login",
                    secure=request.app.state.settings.public_url.startswith("https://"))
    return resp


@router.get("/login")
async def login_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=500)] = "",
                     sso: Annotated[str, Query(max_length=40)] = "") -> Response:
    if await auth.person_for(db_of(request), request.cookies.get(COOKIE)):
        return RedirectResponse(_after_login(next_), status_code=303)
    return _login_page(request, email="", error=None, next=_after_login(next_),
                       providers=await _providers(request, sso))


async def _providers(request: Request, master: str) -> list[dict[str, str]]:
    """"Sign in with <provider>" where one applies: the operators' always, a customer's from the link
    their admin shares (?sso=<master account id>)."""
    from gatehouse.sso.models import OPERATORS
    from gatehouse.sso.service import provider_of

    found = []
    for scope in ([master] if master and master != OPERATORS else []) + [OPERATORS]:
        provider = await provider_of(db_of(request), scope)
        if provider is not None:
            found.append({"scope": provider.scope, "name": provider.name})
    return found


def _after_login(target: str) -> str:
    """Only a page of the console itself: never another site (no open redirect)."""
    ok = target.startswith("/console/") and not target.startswith("/console/login") and "\\" not in target \
        and "//" not in target and not any(c in target for c in "\r\n")
    return target if ok else "/console/"


@router.post("/login")
async def login(request: Request, email: Annotated[str, Form(max_length=254)] = "",
                password: Annotated[str, Form(max_length=200)] = "",
                next_: Annotated[str, Form(alias="next", max_length=500)] = "",
                csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    # No session yet: the form's token must match the cookie set with the form (login CSRF), and
    # a browser's Origin, when sent, must be this site.
    held = request.cookies.get(LOGIN_COOKIE) or ""
    if not same_origin(request) or not csrf or not hmac.compare_digest(csrf, held):
        return page(request, "error.html", status=403,
                    message="This sign-in form has expired or was not sent from this site. Open the sign-in page "
                            "and try again.")
    settings = request.app.state.settings
    try:
        token, _person = await auth.sign_in(db_of(request), settings, email, password)
    except SignInRefused as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        resp = _login_page(request, status=429 if exc.retry_after else 401, email=email, error=str(exc),
                           next=_after_login(next_))
        if headers:
            resp.headers.update(headers)
        return resp
    target = _after_login(next_)
    if await totp.has_factor(db_of(request), _person.user_id):  # the code is still to come
        target = "/console/login/code?" + urlencode({"next": target})
    done = RedirectResponse(target, status_code=303)
    done.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/console",
                    secure=settings.public_url.startswith("https://"), max_age=int(auth.IDLE_TIMEOUT.total_seconds()))
    return done


@router.post("/logout")
async def logout(request: Request, person: PersonDep, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(person, csrf)
    await auth.sign_out(db_of(request), request.cookies.get(COOKIE))
    resp = RedirectResponse("/console/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/console")
    return resp


@router.get("/")
async def home(request: Request, person: PersonDep) -> Response:
    if person.is_operator:
        return RedirectResponse("/console/desk", status_code=303)
    return RedirectResponse("/console/accounts", status_code=303)  # the customer's first account


@router.get("/password")
async def password_form(request: Request, person: PersonDep) -> Response:
    return page(request, "password.html", person=person, error=None)


@router.post("/password")
async def password_change(request: Request, person: PersonDep, csrf: Annotated[str, Form(max_length=100)] = "",
                          current: Annotated[str, Form(max_length=200)] = "",
                          new: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_csrf(person, csrf)
    try:
        await auth.change_password(db_of(request), person, current, new)
    except GatehouseError as exc:
        return page(request, "password.html", status=400, person=person, error=exc.message)
    resp = RedirectResponse("/console/login", status_code=303)  # every session ended: sign in again
    resp.delete_cookie(COOKIE, path="/console")
    return resp


@router.get("/login/code")
async def code_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=500)] = "") -> Response:
    return page(request, "login_code.html", error=None, next=_after_login(next_),
                csrf=request.cookies.get(LOGIN_COOKIE) or "")


@router.post("/login/code")
async def code(request: Request, code: Annotated[str, Form(max_length=40)] = "",
               next_: Annotated[str, Form(alias="next", max_length=500)] = "",
               csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """The second step: the authenticator's code, or a recovery code."""
    held = request.cookies.get(LOGIN_COOKIE) or ""
    if not same_origin(request) or not csrf or not hmac.compare_digest(csrf, held):
        return page(request, "error.html", status=403, message="This form has expired: sign in again.")
    try:
        await totp.second_step(db_of(request), request.app.state.settings,
                               auth.session_digest(request.cookies.get(COOKIE)), code)
    except totp.SecondStepRefused as exc:
        resp = page(request, "login_code.html", status=429 if exc.retry_after else 401, error=str(exc),
                    next=_after_login(next_), csrf=held)
        if exc.retry_after:
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    return RedirectResponse(_after_login(next_), status_code=303)
