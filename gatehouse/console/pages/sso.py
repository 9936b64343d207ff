"""Single sign-on pages (SPEC §16): "Sign in with <provider>" starts the code flow, the provider
sends the browser back to /console/sso/callback, which opens a console session for the person their
verified email names. A customer's people use the link their admin shares (/console/login?sso=<master
account id>); the operators' provider is offered on every sign-in page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.console import auth, web
from gatehouse.console.web import COOKIE, db_of, page
from gatehouse.kit.ratelimit import SlidingLimit
from gatehouse.sso import service as sso
from gatehouse.sso.service import SsoRefused

router = web.router()

# Anyone may call these two, and each writes a row (a sign-in's state, or its use): a person signs in
# with one start and one callback, a script flooding them meets 429 (per client address, a minute)
PER_ADDRESS = 30
calls = SlidingLimit(PER_ADDRESS)


def _throttled(request: Request) -> Response | None:
    wait = calls.retry_after(request.client.host if request.client else "")
    if wait is None:
        return None
    resp = page(request, "error.html", status=429, person=None,
                message=f"Too many single sign-on attempts from this address. Try again in {wait} seconds.")
    resp.headers["Retry-After"] = str(wait)
    return resp


def _back_to(request: Request) -> str:
    """Where the provider sends the browser: this console, as the browser reached it."""
    return str(request.base_url).rstrip("/") + "/console/sso/callback"


def _refused(request: Request, message: str, status: int = 400) -> Response:
    return page(request, "error.html", status=status, person=None,
                message=f"Single sign-on did not work: {message}")


@router.get("/sso/{scope}/start")
async def start(request: Request, scope: str, next_: Annotated[str, Query(alias="next", max_length=500)] = "/console/"
                ) -> Response:
    from gatehouse.console.pages.session import _after_login

    if (throttled := _throttled(request)) is not None:
        return throttled
    settings = request.app.state.settings
    try:
        url = await sso.start(db_of(request), scope[:40], _back_to(request), _after_login(next_),
                              settings.sso_allow_private)
    except SsoRefused as exc:
        return _refused(request, str(exc), 404 if "No single sign-on" in str(exc) else 502)
    return RedirectResponse(url, status_code=303)


@router.get("/sso/callback")
async def callback(request: Request, state: Annotated[str, Query(max_length=200)] = "",
                   code: Annotated[str, Query(max_length=2000)] = "",
                   error: Annotated[str, Query(max_length=200)] = "",
                   error_description: Annotated[str, Query(max_length=500)] = "") -> Response:
    if (throttled := _throttled(request)) is not None:
        return throttled
    settings = request.app.state.settings
    if error:
        return _refused(request, f"the identity provider said {error}: {error_description}")
    try:
        user, next_page = await sso.finish(db_of(request), state, code, settings.sso_allow_private)
    except SsoRefused as exc:
        await auth.sso_refused(db_of(request), str(exc))
        return _refused(request, str(exc), 401)
    token, _person = await auth.open_sso_session(db_of(request), user, "sso")
    resp = RedirectResponse(next_page, status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/console",
                    secure=settings.public_url.startswith("https://"), max_age=int(auth.IDLE_TIMEOUT.total_seconds()))
    return resp
