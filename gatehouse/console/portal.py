"""The customer portal (SPEC §12): a customer person's pages, per account they hold. Every page
builds the same AccountContext as the API (the account's permissions) and calls the same services,
so rules, events, mails and webhooks are the API's. Every object is looked up inside the account
(another account's id is a 404 page); every POST checks the session's CSRF token."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from gatehouse.attachments import repository as attachments
from gatehouse.attachments import service as files
from gatehouse.auth import repository as auth_repo
from gatehouse.auth import service as apps
from gatehouse.auth.principal import AccountContext, Membership, Principal
from gatehouse.console.auth import Person
from gatehouse.console.routes import (
    CsrfRefused,
    PersonDep,
    Redirect,
    _same_origin,
    check_csrf,
    db_of,
    page,
)
from gatehouse.facility_access import bulk
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access import service as access
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.schemas import CancelIn, EditIn
from gatehouse.kit.errors import ErrorDetail, GatehouseError, NotFound, ValidationFailed
from gatehouse.kit.sitetime import local
from gatehouse.sites import repository as site_repo

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE_SIZES = (10, 25, 50, 100)
CANCEL_REASONS = ("Request no longer needed", "Duplicate request", "Request entered in error")


@dataclass(frozen=True)
class Held:
    """An account the person holds: its id, name and the person's permissions in it."""

    id: str
    master_id: str
    name: str
    permissions: frozenset[str]


async def _held(request: Request, person: Person) -> list[Held]:
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
    held = await _held(request, person)
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


# --- the account switcher and the customer's home ---------------------------------------------------


@router.get("/accounts")
async def switch(request: Request, person: PersonDep, to: Annotated[str, Query(max_length=40)] = "") -> Response:
    if person.is_operator:
        return RedirectResponse("/console/desk", status_code=303)
    held = await _held(request, person)
    chosen = next((a for a in held if a.id == to), held[0] if held else None)
    if chosen is None:
        return page(request, "error.html", status=404, person=person, message="You hold no account yet.")
    return RedirectResponse(f"/console/a/{chosen.id}/requests", status_code=303)


@router.get("/requests/{ticket_id}")
async def mail_link(request: Request, person: PersonDep, ticket_id: str) -> Response:
    """The link in the mails: the request in whichever of the person's accounts holds it."""
    wo = ticket_id[:20]
    if person.is_operator:
        return RedirectResponse(f"/console/desk/tickets/{wo}", status_code=303)
    readable = [a for a in await _held(request, person) if "tickets:read" in a.permissions]
    async with db_of(request).read() as session:
        for account in readable:
            if await tickets.get_ticket(session, account.id, wo):
                return RedirectResponse(f"/console/a/{account.id}/requests/{wo}", status_code=303)
    raise PageNotFound("No such request in your accounts.")


@router.get("/a/{account_id}")
async def account_home(p: PortalDep) -> Response:
    return RedirectResponse(f"{p.base}/requests", status_code=303)


# --- requests: list, detail, actions ----------------------------------------------------------------


@router.get("/a/{account_id}/requests")
async def requests_list(request: Request, p: PortalDep,
                        site: Annotated[str, Query(max_length=6)] = "",
                        status: Annotated[str, Query(max_length=32)] = "",
                        created_by: Annotated[str, Query(alias="createdBy", max_length=40)] = "",
                        size: Annotated[int, Query(ge=1, le=100)] = 25,
                        page_no: Annotated[int, Query(alias="page", ge=0, le=100_000)] = 0,
                        notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    need(p, "tickets:read")
    if status and status not in Status._value2member_map_:
        status = ""
    found = await access.list_tickets(db_of(request), request.app.state.reader, p.account.id, site=site or None,
                                      status=status or None, created_by=created_by or None, size=size, page=page_no)
    filters = {"site": site, "status": status, "createdBy": created_by, "size": str(size)}
    async with db_of(request).read() as session:
        sites = await site_repo.granted_sites(session, p.account.id)
    return show(request, p, "portal/requests.html", found=found, filters=filters, sites=sites,
                zones={s.code: s.timezone for s in sites},
                statuses=[s.value for s in Status], sizes=PAGE_SIZES, notice=notice,
                page_url=lambda n: f"{p.base}/requests?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                                     "page": n}))


async def _ticket_page(request: Request, p: Portal, ticket_id: str, *, status: int = 200, message: str = "",
                       error: str = "") -> Response:
    try:
        t = await access.get_ticket_detail(request.app.state.reader, p.account.id, ticket_id[:20])
    except NotFound:
        raise PageNotFound("No such request in this account.") from None
    async with db_of(request).read() as session:
        history = await tickets.ticket_history(session, t["ticketId"])
        file_rows = await files.list_work_order(session, p.account.id, t["ticketId"])
    is_open = t["ticketStatus"] in ("Pending Approval", "Approved", "In Progress")
    tz = (await _zones(request, p)).get(t["site"][0]["site"], "UTC")
    return show(request, p, "portal/ticket.html", status=status, t=t, message=message, error=error, tz=tz,
                history=[{"at": local(h.at, tz), "actor": h.actor, "action": h.action, "from": h.from_status or "",
                          "to": h.to_status, "note": h.note} for h in history],
                files=file_rows, is_open=is_open, reasons=CANCEL_REASONS,
                can_request=p.can("visitor-access:request"), can_upload=p.can("attachments:write"),
                can_decide=p.can("visitor-access:approve") and t["ticketStatus"] == "Pending Approval")


@router.get("/a/{account_id}/requests/new")
async def new_request_form(request: Request, p: PortalDep,
                           uploaded: Annotated[str, Query(max_length=100)] = "",
                           upload_error: Annotated[str, Query(max_length=200)] = "") -> Response:
    need(p, "visitor-access:request")
    return await _create_page(request, p, {}, {}, [], uploaded=uploaded, upload_error=upload_error)


@router.get("/a/{account_id}/requests/{ticket_id}")
async def ticket_page(request: Request, p: PortalDep, ticket_id: str,
                      notice: Annotated[str, Query(max_length=200)] = "") -> Response:
    need(p, "tickets:read")
    return await _ticket_page(request, p, ticket_id, message=notice)


@router.post("/a/{account_id}/requests/{ticket_id}/files")
async def upload_file(request: Request, p: PortalDep, ticket_id: str,
                      csrf: Annotated[str, Query(max_length=100)] = "") -> Response:
    """A multipart upload streamed to storage as the API's is; the token rides in the URL because
    the body is read only once, by the upload itself."""
    csrf_ok(p, csrf)
    if not _same_origin(request):
        raise CsrfRefused()
    need(p, "attachments:write")
    wo = ticket_id[:20]
    s = request.app.state
    try:
        done = await files.upload_to_work_order(db_of(request), s.storage, s.settings, p.ctx, request, wo, None)
    except NotFound:
        raise PageNotFound("No such request in this account.") from None
    except GatehouseError as exc:
        return await _ticket_page(request, p, wo, status=exc.status_code, error=_said(exc))
    return go(f"{p.base}/requests/{wo}", notice=f"Uploaded {done['filename']}.")


ACTIONS = {"comment": "visitor-access:request", "edit": "visitor-access:request",
           "cancel": "visitor-access:request", "approve": "visitor-access:approve",
           "deny": "visitor-access:approve"}


@router.post("/a/{account_id}/requests/{ticket_id}/{action}")
async def ticket_action(request: Request, p: PortalDep, ticket_id: str, action: str,
                        csrf: Annotated[str, Form(max_length=100)] = "",
                        comment: Annotated[str, Form(max_length=40_000)] = "",
                        phone: Annotated[str, Form(max_length=1000)] = "",
                        emails: Annotated[str, Form(max_length=40_000)] = "",
                        reason: Annotated[str, Form(max_length=1000)] = "",
                        back: Annotated[str, Form(max_length=20)] = "") -> Response:
    csrf_ok(p, csrf)
    if action not in ACTIONS:
        raise PageNotFound("No such action.")
    need(p, "tickets:read")
    need(p, ACTIONS[action])
    db, ctx, wo = db_of(request), p.ctx, ticket_id[:20]
    from gatehouse.comments.service import comment_as_customer

    try:  # the API's services: the same rules, events, mails and webhooks
        if action == "comment":
            await comment_as_customer(db, ctx, wo, comment)
            message = "Comment added."
        elif action == "edit":
            now = await access.get_ticket_detail(request.app.state.reader, p.account.id, wo)
            changed = {k: v for k, v in (("visitorPhone", phone.strip()), ("emailNotifications", emails.strip()))
                       if v != now["contactPhone" if k == "visitorPhone" else k]}
            if changed:  # only what the person changed: the history and the trail say what it was
                await access.edit_ticket(db, ctx, wo, EditIn.model_validate(changed))
            message = "Saved." if changed else "Nothing changed."
        elif action == "cancel":
            if reason not in CANCEL_REASONS:
                raise ValidationFailed([ErrorDetail(field="cancelReason", code="INVALID_VALUE",
                                                    message="Pick one of the reasons to cancel.")])
            await access.cancel_ticket(db, ctx, wo, CancelIn(cancelReason=reason))  # type: ignore[arg-type]
            message = "Cancelled."
        elif action == "approve":
            await access.approve_ticket(db, ctx, wo)
            message = "Approved: the visitor's pass is on its way."
        else:
            if not reason.strip():
                raise ValidationFailed([ErrorDetail(field="reason", code="MISSING_FIELD",
                                                    message="Give a reason to deny.")])
            await access.deny_ticket(db, ctx, wo, reason.strip())
            message = "Denied."
    except NotFound:
        raise PageNotFound("No such request in this account.") from None
    except GatehouseError as exc:
        if back == "queue":
            return go(f"{p.base}/approvals", error=f"{wo}: {_said(exc)}")
        return await _ticket_page(request, p, wo, status=exc.status_code if exc.status_code < 500 else 409,
                                  error=_said(exc))
    except ValueError as exc:  # pydantic: a field over its length
        return await _ticket_page(request, p, wo, status=400, error=_pydantic_said(exc))
    if back == "queue":
        return go(f"{p.base}/approvals", notice=f"{wo}: {message}")
    return go(f"{p.base}/requests/{wo}", notice=message)


def _said(exc: GatehouseError) -> str:
    details = getattr(exc, "details", None) or []
    return "; ".join(d.message for d in details) or exc.message


def _pydantic_said(exc: Exception) -> str:
    from pydantic import ValidationError

    from gatehouse.kit.validation import details_from_validation_error

    if isinstance(exc, ValidationError):
        return "; ".join(d.message for d in details_from_validation_error(exc))
    return str(exc)


@router.get("/a/{account_id}/requests/{ticket_id}/files/{file_id}")
async def download_file(request: Request, p: PortalDep, ticket_id: str, file_id: str) -> Response:
    need(p, "tickets:read")
    async with db_of(request).read() as session:  # closed before streaming
        found = await attachments.work_order_file(session, p.account.id, ticket_id[:20], file_id[:40])
    if found is None:
        raise PageNotFound("No such file.")
    attachment, blob = found
    d = files.download(request.app.state.storage, blob, attachment.filename, None, None)
    return StreamingResponse(d.body, status_code=d.status, headers=d.headers, media_type=d.media_type)


# --- the create form ----------------------------------------------------------------------------------

MAX_VISITORS = 10
_VISITOR_FIELDS = {"visitorFirstName": "first", "visitorLastName": "last", "visitorEmail": "email",
                   "visitorPhone": "phone"}
_VISIT_FIELDS = {"visitorType": "escorted", "escortFirstName": "escort-first", "escortLastName": "escort-last",
                 "visitorHostFirstName": "host-first", "visitorHostLastName": "host-last",
                 "visitorHostCompany": "host-company", "company": "company", "visitorBadgeStartDate": "badge-start",
                 "visitorBadgeEndDate": "badge-end", "isExtendedVisitorBadge": "extended",
                 "emailNotifications": "emails", "notes": "notes", "visitors": "visitors", "sites": "sites",
                 "attachments": "attach"}


async def _site_choices(request: Request, p: Portal) -> list[dict[str, Any]]:
    async with db_of(request).read() as session:
        granted = await site_repo.granted_sites(session, p.account.id)
        out = []
        for s in granted:
            locs = await site_repo.visible_locations(session, p.account.id, s.code)
            out.append({"code": s.code, "address": s.address, "timezone": s.timezone,
                        "locations": [loc.name for loc in locs]})
    return out


async def _staged_files(request: Request, p: Portal) -> list[Any]:
    async with db_of(request).read() as session:
        return list(await attachments.staged_of_user(session, p.person.user_id))


def _form_to_request(form: dict[str, Any], sites: list[dict[str, Any]], staged: list[Any]) -> tuple[dict, list[str]]:
    """The form as the API's create body (one request object), and the site code of each `sites[k]`."""
    n = _visitor_count(form)
    start, end = form.get("badge-start", ""), form.get("badge-end", "")
    chosen = [s for s in sites if form.get(f"site-{s['code']}")]
    names = {a.id: a.name for a in staged}
    body: dict[str, Any] = {
        "visitors": [{"visitorFirstName": form.get(f"v-{i}-first", "").strip(),
                      "visitorLastName": form.get(f"v-{i}-last", "").strip(),
                      "visitorEmail": form.get(f"v-{i}-email", "").strip(),
                      "visitorPhone": form.get(f"v-{i}-phone", "").strip()} for i in range(n)],
        "sites": [{"site": s["code"], "locations": [
            {"location": name, "accessStartDate": form.get(f"start-{s['code']}") or start,
             "accessEndDate": form.get(f"end-{s['code']}") or end}
            for name in form.getlist(f"loc-{s['code']}") if isinstance(name, str)]} for s in chosen],
        "visitorType": form.get("escorted", "yes") != "no",
        "escortFirstName": form.get("escort-first", "").strip(), "escortLastName": form.get("escort-last", "").strip(),
        "visitorHostFirstName": form.get("host-first", "").strip(),
        "visitorHostLastName": form.get("host-last", "").strip(),
        "visitorHostCompany": form.get("host-company", "").strip(), "company": form.get("company", "").strip(),
        "visitorBadgeStartDate": start, "visitorBadgeEndDate": end,
        "emailNotifications": form.get("emails", "").strip(), "notes": form.get("notes", "").strip(),
        "isBulkRequest": False,
        "attachments": [{"id": a, "name": names.get(a, "file")} for a in form.getlist("attach")
                        if isinstance(a, str)][:10],
    }
    # an unticked box is a standard badge: always sent, since the API requires it of unescorted visitors
    body["isExtendedVisitorBadge"] = bool(form.get("extended"))
    return body, [s["code"] for s in chosen]


def _visitor_count(form: Any) -> int:
    try:
        return max(1, min(MAX_VISITORS, int(form.get("visitors", "1"))))
    except (TypeError, ValueError):
        return 1


def field_of(api_field: str, site_codes: list[str]) -> str:
    """Where on the form an API detail belongs: `[0].visitors[1].visitorEmail` -> `v-1-email`."""
    f = re.sub(r"^\[0\]\.?", "", api_field)
    m = re.match(r"visitors\[(\d+)\]\.(\w+)", f)
    if m and m.group(2) in _VISITOR_FIELDS:
        return f"v-{m.group(1)}-{_VISITOR_FIELDS[m.group(2)]}"
    m = re.match(r"sites\[(\d+)\](?:\.(\w+))?(?:\[\d+\])?(?:\.(\w+))?", f)
    if m:
        k = int(m.group(1))
        code = site_codes[k] if k < len(site_codes) else ""
        if m.group(3) == "accessStartDate":
            return f"start-{code}"
        if m.group(3) == "accessEndDate":
            return f"end-{code}"
        return f"loc-{code}" if m.group(2) == "locations" else f"site-{code}"
    m = re.match(r"attachments", f)
    if m:
        return "attach"
    head = re.split(r"[.\[]", f, maxsplit=1)[0]
    return _VISIT_FIELDS.get(head, "form")


_LABELS = {"first": "first name", "last": "last name", "email": "email", "phone": "phone",
           "escorted": "Escorted", "escort-first": "Escort's first name", "escort-last": "Escort's last name",
           "host-first": "Host's first name", "host-last": "Host's last name", "host-company": "Host's company",
           "company": "Visitor's company", "badge-start": "Badge from", "badge-end": "Badge until",
           "extended": "Extended badge", "emails": "Also notify", "notes": "Notes", "visitors": "Visitors",
           "sites": "Sites", "attach": "Attachments", "form": "Request"}


def _label(where: str) -> str:
    m = re.match(r"v-(\d+)-(\w+)$", where)
    if m:
        return f"Visitor {int(m.group(1)) + 1}, {_LABELS.get(m.group(2), m.group(2))}"
    m = re.match(r"(site|loc|start|end)-(.*)$", where)
    if m:
        return {"site": "Site", "loc": "Locations at", "start": "Access from at", "end": "Access until at"}[
            m.group(1)] + f" {m.group(2)}"
    return _LABELS.get(where, where)


# The API's words for things, as this form names them (a person never saw "visitorType true").
_FORM_WORDS = (
    (" (visitorType true)", ""), (" (visitorType false)", ""), ("visitorType", "Escorted?"),
    ("isExtendedVisitorBadge", "Extended badge"), ("visitorBadgeStartDate", "Badge from"),
    ("visitorBadgeEndDate", "Badge until"), ("accessStartDate", "Access from"), ("accessEndDate", "Access until"),
    ("escortFirstName", "Escort's first name"), ("escortLastName", "Escort's last name"),
    ("emailNotifications", "Also notify"), ("must have at least 1 item", "needs at least one: tick one"),
    ("must be a boolean (true or false)", "must be chosen"), ("is mandatory", "is needed"),
    ("must not be true for an escorted visitor; extended badges are for unescorted visitors",
     "is only for unescorted visitors"),
)


def _beside(d: ErrorDetail) -> str:
    """The API's message in the form's words, without its "Payload '[0].visitors[1].visitorEmail'"
    head: the field is already named by where the message stands."""
    text = re.sub(r"^(Payload|Mandatory payload) '[^']*' ", "", d.message)
    for api, form in _FORM_WORDS:
        text = text.replace(api, form)
    return text


async def _create_page(request: Request, p: Portal, form: dict[str, Any], errors: dict[str, list[str]],
                       summary: list[tuple[str, str]], status: int = 200, uploaded: str = "",
                       upload_error: str = "") -> Response:
    sites = await _site_choices(request, p)
    staged = await _staged_files(request, p)
    return show(request, p, "portal/new.html", status=status, form=form, errors=errors, summary=summary,
                sites=sites, staged=staged, n=_visitor_count(form) if form else 1,
                idem=form.get("idem") or uuid.uuid4().hex, max_visitors=MAX_VISITORS, uploaded=uploaded,
                upload_error=upload_error)


class _Form(dict):  # type: ignore[type-arg]
    """A submitted form as a dict of first values, keeping every value for getlist."""

    def __init__(self, multi: Any) -> None:
        super().__init__({k: v for k, v in multi.items() if isinstance(v, str)})
        self.multi = multi

    def getlist(self, key: str) -> list[Any]:
        return list(self.multi.getlist(key))


@router.post("/a/{account_id}/requests/new")
async def create_request(request: Request, p: PortalDep) -> Response:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=0, max_fields=2000) as multi:
            form = _Form(multi)
    except StarletteHTTPException:
        raise PageNotFound("This form is not the request form of this page: reload it.", 400) from None
    csrf_ok(p, form.get("csrf"))
    need(p, "visitor-access:request")
    n = _visitor_count(form)
    if form.get("do") == "add-visitor":
        form["visitors"] = str(min(MAX_VISITORS, n + 1))
        return await _create_page(request, p, form, {}, [])
    if form.get("do", "").startswith("remove-"):
        drop = form["do"].removeprefix("remove-")
        kept = [i for i in range(n) if str(i) != drop] or [0]
        for new, old in enumerate(kept):
            for part in _VISITOR_FIELDS.values():
                form[f"v-{new}-{part}"] = form.get(f"v-{old}-{part}", "")
        form["visitors"] = str(len(kept))
        return await _create_page(request, p, form, {}, [])
    sites = await _site_choices(request, p)
    staged = await _staged_files(request, p)
    body, codes = _form_to_request(form, sites, staged)
    db = db_of(request)
    try:
        parsed = await access.parse_requests(db, p.ctx, [body])
        created, _replayed = await access.create_with_key(db, p.ctx, parsed, f"form-{form.get('idem', '')[:64]}",
                                                          namespace=-p.person.user_id)
    except ValidationFailed as exc:
        errors: dict[str, list[str]] = {}
        summary = []
        for d in exc.details:
            where = field_of(d.field, codes)
            said = _beside(d)
            errors.setdefault(where, []).append(said)
            summary.append((where, f"{_label(where)}: {said}"))
        return await _create_page(request, p, form, errors, summary, status=400)
    except GatehouseError as exc:
        return await _create_page(request, p, form, {"form": [_said(exc)]}, [("form", _said(exc))],
                                  status=exc.status_code if exc.status_code < 500 else 409)
    ids = [w["workOrderId"] for w in created["workOrder"]]
    return go(f"{p.base}/requests", notice=f"Created {len(ids)} work order{'s' if len(ids) != 1 else ''}: "
              + ", ".join(ids))


@router.post("/a/{account_id}/staged")
async def upload_staged(request: Request, p: PortalDep) -> Response:
    """A file to attach to the next request (seed 002's staged upload), owned by this person. The
    CSRF token is the form's first part, checked before a byte of the file is stored. The page's
    script sends it in the background (JSON back) so what was typed in the form stays."""
    enhanced = request.headers.get("x-requested-with") == "fetch"
    if not _same_origin(request):
        raise CsrfRefused()
    need(p, "attachments:write")
    s = request.app.state
    try:
        done = await files.upload_staged(db_of(request), s.storage, s.settings, p.ctx.principal, request, None,
                                         guards={"csrf": lambda token: csrf_ok(p, token)})
    except GatehouseError as exc:
        if enhanced:
            return JSONResponse({"error": _said(exc)[:300]}, status_code=exc.status_code)
        return go(f"{p.base}/requests/new", upload_error=_said(exc)[:200])
    if enhanced:
        return JSONResponse({"id": done["attachmentId"], "name": done["attachmentName"], "size": done["attachmentSize"]})
    return go(f"{p.base}/requests/new", uploaded=done["attachmentName"][:100])


# --- the approver's queue -------------------------------------------------------------------------


@router.get("/a/{account_id}/approvals")
async def approvals(request: Request, p: PortalDep, page_no: Annotated[int, Query(alias="page", ge=0, le=100_000)] = 0,
                    notice: Annotated[str, Query(max_length=300)] = "",
                    error: Annotated[str, Query(max_length=300)] = "") -> Response:
    need(p, "visitor-access:approve")
    found = await access.list_tickets(db_of(request), request.app.state.reader, p.account.id, site=None,
                                      status=Status.PENDING.value, created_by=None, size=25, page=page_no)
    return show(request, p, "portal/approvals.html", found=found, notice=notice, error=error,
                zones=await _zones(request, p))


# --- bulk requests from CSV -------------------------------------------------------------------------


@router.get("/a/{account_id}/bulk")
async def bulk_page(request: Request, p: PortalDep, error: Annotated[str, Query(max_length=300)] = "") -> Response:
    need(p, "visitor-access:request")
    return show(request, p, "portal/bulk.html", columns=bulk.COLUMNS, required=bulk.REQUIRED, error=error,
                max_rows=bulk.MAX_ROWS)


@router.get("/a/{account_id}/bulk/template.csv")
async def bulk_template(p: PortalDep) -> Response:
    return Response(bulk.template_csv(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="access-requests-template.csv"'})


@router.post("/a/{account_id}/bulk")
async def bulk_upload(request: Request, p: PortalDep) -> Response:
    from starlette.datastructures import UploadFile

    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=1, max_fields=10, max_part_size=bulk.MAX_BYTES + 1) as multi:
            csrf_ok(p, multi.get("csrf") if isinstance(multi.get("csrf"), str) else None)  # type: ignore[arg-type]
            need(p, "visitor-access:request")
            upload = multi.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return go(f"{p.base}/bulk", error="Choose a CSV file to upload.")
            data = await upload.read(bulk.MAX_BYTES + 1)
            filename = upload.filename
    except StarletteHTTPException:  # the form's own limits (a part over 2 MiB, too many fields)
        return go(f"{p.base}/bulk", error=f"The file is larger than {bulk.MAX_BYTES // 1024 // 1024} MiB "
                  "or the form is not this page's.")
    try:
        rows = bulk.read_csv(data)
    except GatehouseError as exc:
        return go(f"{p.base}/bulk", error=exc.message)
    await bulk.check_rows(db_of(request), p.ctx, rows)
    import_id = await bulk.save(db_of(request), p.ctx, filename, rows)
    return go(f"{p.base}/bulk/{import_id}")


async def _import(request: Request, p: Portal, import_id: str):  # type: ignore[no-untyped-def]
    try:
        return await bulk.load(db_of(request), p.ctx, import_id)
    except NotFound:
        raise PageNotFound("No such import of yours.") from None


@router.get("/a/{account_id}/bulk/{import_id}")
async def bulk_preview(request: Request, p: PortalDep, import_id: str) -> Response:
    import json

    need(p, "visitor-access:request")
    imp = await _import(request, p, import_id)
    rows = json.loads(imp.rows_json)
    state = bulk.progress(imp)
    return show(request, p, "portal/bulk_preview.html", imp=imp, rows=rows, bad=[r for r in rows if r["problems"]],
                state=state, groups=len(json.loads(imp.groups_json)),
                good=[o for o in bulk.outcomes(imp) if o["ok"]])


@router.post("/a/{account_id}/bulk/{import_id}/run")
async def bulk_run(request: Request, p: PortalDep, import_id: str,
                   csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Without script: create every group, then show the result. With script (console.js), the page
    asks for a few groups at a time and shows the progress between steps."""
    csrf_ok(p, csrf)
    need(p, "visitor-access:request")
    step = request.headers.get("x-requested-with") == "fetch"
    try:
        state = await bulk.run(db_of(request), p.ctx, import_id, max_groups=3 if step else None)
    except NotFound:
        raise PageNotFound("No such import of yours.") from None
    if step:
        from fastapi.responses import JSONResponse

        return JSONResponse(state)
    return go(f"{p.base}/bulk/{import_id}")


@router.get("/a/{account_id}/bulk/{import_id}/result.csv")
async def bulk_result(request: Request, p: PortalDep, import_id: str) -> Response:
    imp = await _import(request, p, import_id)
    return Response(bulk.result_csv(imp), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="access-requests-result-{imp.id[:8]}.csv"'})


# --- the person's apps (client id + secret for the API) ----------------------------------------------


async def _apps_page(request: Request, person: Person, *, shown: dict[str, str] | None = None, error: str = "",
                     status: int = 200) -> Response:
    async with db_of(request).read() as session:
        mine = await auth_repo.apps_of_user(session, person.user_id)
    held = await _held(request, person)
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
                     idem: Annotated[str, Form(max_length=64)] = "") -> Response:
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
            made = await apps.create_app(session, person.user_id, name)
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
    if person.is_operator or action not in ("rotate", "disable", "enable"):
        return page(request, "error.html", status=404, person=person, message="No such app of yours.")
    async with db_of(request).write() as session:
        app = await auth_repo.app_by_client_id(session, client_id[:64])
        if app is None or app.user_id != person.user_id:  # another person's app is not found
            return page(request, "error.html", status=404, person=person, message="No such app of yours.")
        if action == "rotate":
            made = await apps.rotate_secret(session, app.client_id)
        else:
            await apps.set_app_enabled(session, app.client_id, action == "enable")
    if action == "rotate":
        return await _apps_page(request, person, shown={
            "clientId": made.client_id, "secret": made.client_secret,
            "what": "New secret: the old one and its tokens stopped working."})
    return RedirectResponse("/console/apps", status_code=303)


# --- webhooks (SPEC §11), for webhooks:manage ------------------------------------------------------


def _owner(p: Portal):  # type: ignore[no-untyped-def]
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
        form = _Form(multi)
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
        return await _webhook_page(request, p, wid, error=_said(exc))
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
        return await _webhook_page(request, p, webhook_id, error=_said(exc))
    return go(f"{p.base}/webhooks/{webhook_id[:36]}", notice="Sent again: the new attempt is at the top.")


# --- the audit trail (SPEC §9), for audit:read -----------------------------------------------------


@router.get("/a/{account_id}/audit")
async def audit_page(request: Request, p: PortalDep, type_: Annotated[str, Query(alias="type", max_length=64)] = "",
                     object_id: Annotated[str, Query(alias="objectId", max_length=64)] = "",
                     since: Annotated[str, Query(max_length=40)] = "", until: Annotated[str, Query(max_length=40)] = "",
                     cursor: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    """The trail as a person reads it: newest first, each time in its site's zone, details as words."""
    from gatehouse.audit import service as trail
    from gatehouse.events.service import TYPES

    need(p, "audit:read")
    error = ""
    try:
        # the pickers give whole days; "to" includes its day
        last = (date.fromisoformat(until) + timedelta(days=1)).isoformat() if _is_day(until) else until
        where = trail.event_filter(since or None, last or None, type_ or None, object_id or None,
                                   account_id=p.account.id)
        found = await trail.page(db_of(request), where, cursor, 50, newest_first=True)
    except ValidationFailed as exc:
        error, found = _said(exc), {"content": [], "nextCursor": None}
    filters = {"type": type_, "objectId": object_id, "since": since, "until": until}
    next_url = (f"{p.base}/audit?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                "cursor": found["nextCursor"]})) if found["nextCursor"] else ""
    return show(request, p, "portal/audit.html", found=found, filters=filters, types=sorted(TYPES), error=error,
                next_url=next_url, zones=await _zones(request, p))


def _is_day(value: str) -> bool:
    try:
        return len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


async def _zones(request: Request, p: Portal) -> dict[str, str]:
    """The time zone of each site of the account: times are shown in their site's time."""
    async with db_of(request).read() as session:
        return {s.code: s.timezone for s in await site_repo.granted_sites(session, p.account.id)}


def install(app) -> None:  # type: ignore[no-untyped-def]
    app.include_router(router)

    async def on_not_found(request: Request, exc: PageNotFound) -> Response:
        from gatehouse.console import auth
        from gatehouse.console.routes import COOKIE

        person = await auth.person_for(db_of(request), request.cookies.get(COOKIE))
        return page(request, "error.html", status=exc.status, person=person, message=str(exc))

    app.add_exception_handler(PageNotFound, on_not_found)
