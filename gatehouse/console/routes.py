"""Console pages. Handlers are thin: they read the session, call the same services as the API
(`operators.service` for the desk), and render templates. Every POST checks the session's CSRF
token; every page carries the security headers (kit/middleware.py)."""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.staticfiles import StaticFiles

from gatehouse.attachments import repository as attachments
from gatehouse.attachments.service import download
from gatehouse.console import auth
from gatehouse.console.auth import Person, SignInRefused
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access.service import site_today
from gatehouse.kit import context
from gatehouse.kit.context import Actor
from gatehouse.kit.db import Database
from gatehouse.kit.errors import GatehouseError
from gatehouse.kit.sitetime import local
from gatehouse.operators import service as desk
from gatehouse.operators.repository import sites as sites_of

HERE = Path(__file__).parent
COOKIE = "gh_console"
templates = Jinja2Templates(directory=str(HERE / "templates"))  # .html: autoescaped
templates.env.filters["local"] = local  # an instant as a person reads it: site time, zone named
static = StaticFiles(directory=str(HERE / "static"))
router = APIRouter(prefix="/console", include_in_schema=False)

GROUPS = (("expected", "Expected", ("Approved", "Pending Approval")), ("on_site", "On site", ("In Progress",)),
          ("done", "Done", ("Completed",)))


class Redirect(Exception):
    def __init__(self, to: str) -> None:
        self.to = to


def db_of(request: Request) -> Database:
    return request.app.state.db


async def current_person(request: Request) -> Person:
    person = await auth.person_for(db_of(request), request.cookies.get(COOKIE))
    if person is None:
        from urllib.parse import urlencode

        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # back to the page asked for (a mail's link) once signed in; forms are simply sent again
        raise Redirect("/console/login" + (f"?{urlencode({'next': here})}" if request.method == "GET"
                                           and here not in ("/console/", "/console") else ""))
    # the actor of whatever this page changes: the trail names the person, not "system"
    context.current_actor.set(Actor("operator" if person.is_operator else "user", person.name, "", person.user_id))
    return person


PersonDep = Annotated[Person, Depends(current_person)]


async def operator(person: PersonDep) -> Person:
    if not person.is_operator:
        raise Redirect("/console/")
    return person


OperatorDep = Annotated[Person, Depends(operator)]


def check_csrf(person: Person, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, person.csrf):
        raise CsrfRefused()


class CsrfRefused(Exception):
    pass


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status)


def _op(person: Person) -> desk.Operator:
    return desk.Operator(person.user_id, person.name, person.sites)


# --- sign-in ------------------------------------------------------------------------------------------


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
async def login_form(request: Request, next_: Annotated[str, Query(alias="next", max_length=500)] = "") -> Response:
    if await auth.person_for(db_of(request), request.cookies.get(COOKIE)):
        return RedirectResponse(_after_login(next_), status_code=303)
    return _login_page(request, email="", error=None, next=_after_login(next_))


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
    if not _same_origin(request) or not csrf or not hmac.compare_digest(csrf, held):
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
    resp = RedirectResponse(_after_login(next_), status_code=303)
    resp.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/console",
                    secure=settings.public_url.startswith("https://"), max_age=int(auth.IDLE_TIMEOUT.total_seconds()))
    return resp


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser's cross-site form post (those always carry Origin)
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


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


# --- the security desk ----------------------------------------------------------------------------------


def _match(row: dict, q: str) -> bool:
    q = q.lower()
    return any(q in str(row.get(k, "")).lower() for k in ("ticketId", "visitorFirstName", "visitorLastName",
                                                          "visitorEmail", "company", "accountName")) or \
        q in f"{row['visitorFirstName']} {row['visitorLastName']}".lower()


async def _roster(request: Request, person: Person, site: str | None, day: str | None, q: str) -> dict[str, Any]:
    db = db_of(request)
    async with db.read() as session:
        my_sites = list(await sites_of(session, sorted(person.sites)))
    if not my_sites:
        return {"sites": [], "site": None}
    chosen = next((s for s in my_sites if s.code == site), my_sites[0])
    try:
        the_day = date.fromisoformat(day) if day else site_today(chosen.timezone)
    except ValueError:
        the_day = site_today(chosen.timezone)
    found, more, fingerprint = await desk.roster_page(db, _op(person), site=chosen.code, status=None, day=the_day,
                                                      size=desk.ROSTER_PAGE_MAX, reader=request.app.state.reader)
    data = {"sites": my_sites, "site": chosen, "day": the_day.isoformat(), "q": q,
            "today": site_today(chosen.timezone).isoformat(), "truncated": more}
    key = (fingerprint, chosen.code, data["day"], data["today"], q, more)
    html = _FRAGMENTS.get(key) if fingerprint is not None else None
    if html is None:
        rows = [r for r in found if not q or _match(r, q)]
        groups = [{"key": k, "title": title, "rows": [r for r in rows if r["ticketStatus"] in statuses]}
                  for k, title, statuses in GROUPS]
        html = Markup(templates.get_template("roster_fragment.html").render(groups=groups, **data))
        if fingerprint is not None:
            _FRAGMENTS[key] = html
            while len(_FRAGMENTS) > 64:
                _FRAGMENTS.popitem(last=False)
    else:
        _FRAGMENTS.move_to_end(key)
    return {**data, "roster_html": html}


# The desk's rendered rosters, by the fingerprint of the rows read (operators.service.roster_page): a
# roster reloaded on 8 screens every 30 s is read each time but rendered once per change. Being keyed
# by what was read, never by time, it cannot show a stale roster, in this process or across several.
_FRAGMENTS: OrderedDict[tuple, Markup] = OrderedDict()  # type: ignore[type-arg]


@router.get("/desk")
async def desk_page(request: Request, person: OperatorDep,
                    site: Annotated[str | None, Query(max_length=6)] = None,
                    day: Annotated[str | None, Query(alias="date", max_length=10)] = None,
                    q: Annotated[str, Query(max_length=100)] = "",
                    fragment: Annotated[int, Query(ge=0, le=1)] = 0,
                    notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    data = await _roster(request, person, site, day, q)
    if fragment:
        return HTMLResponse(data.get("roster_html", ""))
    return page(request, "desk.html", person=person, notice=notice, **data)


@router.get("/desk/scan")
async def scan(request: Request, person: OperatorDep, code: Annotated[str, Query(max_length=200)] = "",
               site: Annotated[str | None, Query(max_length=6)] = None) -> Response:
    """What a keyboard-wedge scanner types: the pass's QR content (the work order id), then Enter."""
    wo = code.strip().upper()
    try:
        await desk.ticket_detail(db_of(request), _op(person), wo)
    except GatehouseError:
        from urllib.parse import urlencode

        back = {"notice": f"No ticket {code.strip()[:40]!r} at your sites."}
        if site:
            back["site"] = site
        return RedirectResponse(f"/console/desk?{urlencode(back)}", status_code=303)
    return RedirectResponse(f"/console/desk/tickets/{wo}", status_code=303)


async def _ticket_context(request: Request, person: Person, ticket_id: str) -> dict[str, Any]:
    db = db_of(request)
    ticket = await desk.ticket_detail(db, _op(person), ticket_id)  # 404 outside the operator's sites
    actions, tz = await desk.desk_view(db, _op(person), ticket_id)
    async with db.read() as session:
        history = await tickets.ticket_history(session, ticket_id)
        files = await attachments.list_for_ticket(session, ticket_id)
    return {"t": ticket, "actions": actions, "tz": tz,
            "history": [{"at": local(h.at, tz), "actor": h.actor, "action": h.action,
                         "from": h.from_status or "", "to": h.to_status, "note": h.note} for h in history],
            "files": [{"id": f.id, "name": f.filename, "at": local(f.created_at, tz)} for f in files]}


@router.get("/desk/tickets/{ticket_id}")
async def ticket_page(request: Request, person: OperatorDep, ticket_id: str,
                      fragment: Annotated[int, Query(ge=0, le=1)] = 0) -> Response:
    try:
        ctx = await _ticket_context(request, person, ticket_id[:20])
    except GatehouseError:
        return page(request, "error.html", status=404, person=person, message="No such ticket at your sites.")
    return page(request, "ticket_fragment.html" if fragment else "ticket.html", person=person, message=None,
                error=None, **ctx)


ACTIONS = {"check-in", "check-out", "complete", "comment"}


@router.post("/desk/tickets/{ticket_id}/{action}")
async def ticket_action(request: Request, person: OperatorDep, ticket_id: str, action: str,
                        csrf: Annotated[str, Form(max_length=100)] = "",
                        badge_number: Annotated[str, Form(max_length=100)] = "",
                        comment: Annotated[str, Form(max_length=5000)] = "") -> Response:
    check_csrf(person, csrf)
    ticket_id = ticket_id[:20]
    if action not in ACTIONS:
        return page(request, "error.html", status=404, person=person, message="No such action.")
    db, op = db_of(request), _op(person)
    message = error = None
    try:  # the same services, rules, events and mails as /ops/v1
        if action == "check-in":
            done = await desk.check_in(db, op, ticket_id, badge_number.strip())
            message = f"Checked in with badge {done['badgeNumber']}."
        elif action == "check-out":
            done = await desk.check_out(db, op, ticket_id)
            message = "Checked out; the ticket is completed." if done["ticketStatus"] == "Completed" else \
                "Checked out for today."
        elif action == "complete":
            await desk.complete(db, op, ticket_id)
            message = "Completed."
        else:
            await desk.comment(db, op, ticket_id, comment)
            message = "Comment added."
    except GatehouseError as exc:
        if exc.status_code == 404:
            return page(request, "error.html", status=404, person=person, message="No such ticket at your sites.")
        error = exc.message
    if request.headers.get("x-requested-with") == "fetch":  # enhanced form: just the panel, no reload
        ctx = await _ticket_context(request, person, ticket_id)
        return page(request, "ticket_fragment.html", status=200 if error is None else 409, person=person,
                    message=message, error=error, **ctx)
    ctx = await _ticket_context(request, person, ticket_id)
    return page(request, "ticket.html", status=200 if error is None else 409, person=person, message=message,
                error=error, **ctx)


@router.get("/desk/tickets/{ticket_id}/files/{file_id}")
async def ticket_file(request: Request, person: OperatorDep, ticket_id: str, file_id: str) -> Response:
    async with db_of(request).read() as session:  # closed before streaming
        found = await attachments.file_at_sites(session, sorted(person.sites), ticket_id[:20], file_id[:40])
    if found is None:
        return page(request, "error.html", status=404, person=person, message="No such file.")
    attachment, blob = found
    d = download(request.app.state.storage, blob, attachment.filename, None, None)
    return StreamingResponse(d.body, status_code=d.status, headers=d.headers, media_type=d.media_type)


@router.get("/desk/visitor-log.csv")
async def visitor_log(request: Request, person: OperatorDep, site: Annotated[str, Query(max_length=6)],
                      start: Annotated[str, Query(alias="from", max_length=10)],
                      end: Annotated[str, Query(alias="to", max_length=10)]) -> Response:
    """Who was on site, from when to when, badge, escort, company, host: one row per check-in, its
    days and times in the site's time zone (named in the header)."""
    import io

    from gatehouse.kit import csvout
    from gatehouse.operators.repository import visitor_log as log_rows

    if site not in person.sites:
        return page(request, "error.html", status=404, person=person, message="No such site.")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        return page(request, "error.html", status=400, person=person, message="Dates must be yyyy-MM-dd.")
    async with db_of(request).read() as session:
        tz = (await sites_of(session, [site]))[0].timezone
        rows = await log_rows(session, site, tz, first, last)
    out = io.StringIO()
    writer = csvout.Writer(out)
    writer.header(["workOrder", "visitor", "company", "host", "escort", "badgeNumber", f"checkedIn ({tz})",
                   f"checkedOut ({tz})"])
    for r in rows:
        writer.row([r["ticketId"], r["visitor"], r["company"], r["host"], r["escort"], r["badge"], r["in"], r["out"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="visitor-log-{site}-{first}-{last}.csv"'})


# --- a customer's request (the page the "approval needed" mail links to) ------------------------------


def install(app) -> None:  # type: ignore[no-untyped-def]
    """Mount the console: its routes, its static files, and its redirects and refusals as pages."""
    from fastapi.responses import PlainTextResponse

    from gatehouse.console import portal

    app.include_router(router)
    portal.install(app)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:  # browsers ask for it at the root, on every page
        return FileResponse(HERE / "static" / "favicon.ico", media_type="image/x-icon",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/console/static", static, name="console-static")

    async def on_redirect(request: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.to, status_code=303)

    async def on_csrf(request: Request, exc: CsrfRefused) -> Response:
        return PlainTextResponse("Forbidden: this form's security token is missing or wrong. Reload the page.",
                                 status_code=403)

    app.add_exception_handler(Redirect, on_redirect)
    app.add_exception_handler(CsrfRefused, on_csrf)
