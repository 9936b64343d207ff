"""What every console page shares: templates, the signed-in person (session cookie), CSRF, the
customer's account context (`Portal`), page rendering and the refusals shown as pages. Pages live in
`console/pages/`, one module per area; each imports from here and from the domain services, never
from another page."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.staticfiles import StaticFiles

from gatehouse.auth import repository as auth_repo
from gatehouse.auth.principal import AccountContext, Membership, Principal
from gatehouse.console import auth
from gatehouse.console.auth import Person
from gatehouse.facility_access.lifecycle import Status
from gatehouse.kit import context
from gatehouse.kit.context import Actor
from gatehouse.kit.db import Database
from gatehouse.kit.errors import GatehouseError
from gatehouse.kit.sitetime import local, window_text
from gatehouse.operators import service as desk
from gatehouse.sites import repository as site_repo

HERE = Path(__file__).parent


def router() -> APIRouter:
    """A page module's router: under /console, never in the API's OpenAPI document."""
    return APIRouter(prefix="/console", include_in_schema=False)


COOKIE = "gh_console"
templates = Jinja2Templates(directory=str(HERE / "templates"))  # .html: autoescaped
templates.env.filters["local"] = local  # an instant as a person reads it: site time, zone named
templates.env.filters["window"] = window_text  # a location's access window, site time, zone named
templates.env.globals["Status"] = Status  # templates compare statuses by name, never by their words
static = StaticFiles(directory=str(HERE / "static"))


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
    if person.must_enrol and request.url.path not in ENROL_PATHS:  # a policy's second factor first
        raise Redirect("/console/totp")
    # the actor of whatever this page changes: the trail names the person, not "system"
    context.current_actor.set(Actor("operator" if person.is_operator else "user", person.name, "", person.user_id))
    return person


PersonDep = Annotated[Person, Depends(current_person)]
# what a person asked to enrol a second factor may open before they have
ENROL_PATHS = frozenset({"/console/totp", "/console/logout"})


async def operator(person: PersonDep) -> Person:
    if not person.is_operator:
        raise Redirect("/console/")
    return person


OperatorDep = Annotated[Person, Depends(operator)]


async def admin(request: Request, person: OperatorDep) -> Person:
    """An operator administrator (role `admin`, SPEC §16); anyone else is shown a refusal."""
    if "admin" not in person.roles:
        raise PageNotFound("Administration is for operators with the role 'admin'.", 403)
    return person


AdminDep = Annotated[Person, Depends(admin)]


def check_csrf(person: Person, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, person.csrf):
        raise CsrfRefused()


class CsrfRefused(Exception):
    pass


@dataclass(frozen=True)
class Posted:
    """A console form's fields once its CSRF token was checked (`posted`)."""

    form: Any

    def text(self, name: str, limit: int = 200) -> str:
        return str(self.form.get(name, "")).strip()[:limit]

    def all(self, name: str) -> list[str]:
        """A field sent several times (checkboxes), each once, in order."""
        return sorted({v for v in self.form.getlist(name) if isinstance(v, str)})


async def posted(request: Request, person: Person) -> Posted:
    form = await request.form()
    check_csrf(person, str(form.get("csrf", "")))
    return Posted(form)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status)


def op_of(person: Person) -> desk.Operator:
    return desk.Operator(person.user_id, person.name, person.sites, person.roles)



def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return True  # not a browser's cross-site form post (those always carry Origin)
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


PAGE_SIZES = (10, 25, 50, 100)


@dataclass(frozen=True)
class Held:
    """An account the person holds: its id, name and the person's permissions in it."""

    id: str
    master_id: str
    name: str
    permissions: frozenset[str]


async def held_accounts(request: Request, person: Person) -> list[Held]:
    async with db_of(request).read() as session:
        rows = await auth_repo.accounts_held(session, person.user_id)
    return [Held(a, m, name, frozenset(p.split())) for a, m, name, p in rows]


@dataclass
class Portal:
    """One page's caller: the person, the account picked, and the API's context for it."""

    person: Person
    account: Held
    accounts: list[Held]
    ctx: AccountContext

    def can(self, permission: str) -> bool:
        return permission in self.account.permissions

    @property
    def base(self) -> str:
        return f"/console/a/{self.account.id}"


async def portal(request: Request, person: PersonDep, account_id: str) -> Portal:
    if person.is_operator:
        raise Redirect("/console/desk")
    held = await held_accounts(request, person)
    account = next((a for a in held if a.id == account_id), None)
    if account is None:
        raise PageNotFound("No such account of yours.")
    memberships = {a.id: Membership(a.id, a.master_id, a.permissions) for a in held}
    principal = Principal(person.user_id, "customer", person.name, account.master_id, 0, datetime.max, memberships)
    return Portal(person, account, held, AccountContext(principal, account.master_id, account.id,
                                                        account.permissions))


PortalDep = Annotated[Portal, Depends(portal)]


class PageNotFound(Exception):
    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def need(p: Portal, permission: str) -> None:
    if not p.can(permission):
        raise PageNotFound(f"You do not have the permission {permission} in {p.account.name}.", 403)


def show(request: Request, p: Portal, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return page(request, template, status, person=p.person, portal=p, **context)


def csrf_ok(p: Portal, token: str | None) -> None:
    check_csrf(p.person, token)


def go(url: str, **params: str) -> RedirectResponse:
    clean = {k: v for k, v in params.items() if v}
    return RedirectResponse(url + (f"?{urlencode(clean)}" if clean else ""), status_code=303)



def said(exc: GatehouseError) -> str:
    details = getattr(exc, "details", None) or []
    return "; ".join(d.message for d in details) or exc.message


def pydantic_said(exc: Exception) -> str:
    from pydantic import ValidationError

    from gatehouse.kit.validation import details_from_validation_error

    if isinstance(exc, ValidationError):
        return "; ".join(d.message for d in details_from_validation_error(exc))
    return str(exc)


async def zones(request: Request, p: Portal) -> dict[str, str]:
    """The time zone of each site of the account: times are shown in their site's time."""
    async with db_of(request).read() as session:
        return {s.code: s.timezone for s in await site_repo.granted_sites(session, p.account.id)}




class FormValues(dict):
    """A submitted form as a dict of first values, keeping every value for getlist."""

    def __init__(self, multi: Any) -> None:
        super().__init__({k: v for k, v in multi.items() if isinstance(v, str)})
        self.multi = multi

    def getlist(self, key: str) -> list[Any]:
        return list(self.multi.getlist(key))
