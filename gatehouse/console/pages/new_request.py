"""The create form (several visitors, sites and locations, every API rule; errors beside their
fields in the form's own words) and its staged uploads."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from gatehouse.attachments import repository as attachments
from gatehouse.attachments import service as files
from gatehouse.console import web
from gatehouse.console.web import (
    CsrfRefused,
    FormValues,
    PageNotFound,
    Portal,
    PortalDep,
    csrf_ok,
    db_of,
    go,
    need,
    said,
    same_origin,
    show,
)
from gatehouse.facility_access import service as access
from gatehouse.facility_access.rules import NEW_VISITOR, POP_POE, Kind
from gatehouse.kit.errors import ErrorDetail, GatehouseError, ValidationFailed
from gatehouse.sites import repository as site_repo

router = web.router()


@router.get("/a/{account_id}/requests/new")
async def new_request_form(request: Request, p: PortalDep,
                           uploaded: Annotated[str, Query(max_length=100)] = "",
                           upload_error: Annotated[str, Query(max_length=200)] = "") -> Response:
    need(p, "visitor-access:request")
    return await _create_page(request, p, {}, {}, [], uploaded=uploaded, upload_error=upload_error)



MAX_VISITORS = 10
_VISITOR_FIELDS = {"visitorFirstName": "first", "visitorLastName": "last", "visitorEmail": "email",
                   "visitorPhone": "phone"}
_VISIT_FIELDS = {"visitorType": "escorted", "escortFirstName": "escort-first", "escortLastName": "escort-last",
                 "visitorHostFirstName": "host-first", "visitorHostLastName": "host-last",
                 "visitorHostCompany": "host-company", "visitorHostEmail": "host-email", "company": "company", "visitorBadgeStartDate": "badge-start",
                 "visitorBadgeEndDate": "badge-end", "isExtendedVisitorBadge": "extended",
                 "emailNotifications": "emails", "notes": "notes", "visitors": "visitors", "sites": "sites",
                 "attachments": "attach"}


async def _site_choices(request: Request, p: Portal) -> list[dict[str, Any]]:
    async with db_of(request).read() as session:
        granted = await site_repo.granted_sites(session, p.account.id)
        out = []
        for s in granted:
            locs = await site_repo.visible_locations(session, p.account.id, s.code)
            rooms = await site_repo.pop_poe_rooms(session, s.code) if p.can("pop-poe:request") else []
            out.append({"code": s.code, "address": s.address, "timezone": s.timezone,
                        "locations": [loc.name for loc in locs], "rooms": rooms})
    return out


async def _staged_files(request: Request, p: Portal) -> list[Any]:
    async with db_of(request).read() as session:
        return list(await attachments.staged_of_user(session, p.person.user_id))


def _form_to_request(form: Any, sites: list[dict[str, Any]], staged: list[Any]) -> tuple[dict, list[str]]:
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
             "accessEndDate": form.get(f"end-{s['code']}") or end,
             **_times(form, s["code"])}
            for name in [*form.getlist(f"loc-{s['code']}"), *form.getlist(f"room-{s['code']}")]
            if isinstance(name, str)]} for s in chosen],
        "visitorType": form.get("escorted", "yes") != "no",
        "escortFirstName": form.get("escort-first", "").strip(), "escortLastName": form.get("escort-last", "").strip(),
        "visitorHostFirstName": form.get("host-first", "").strip(),
        "visitorHostLastName": form.get("host-last", "").strip(),
        "visitorHostCompany": form.get("host-company", "").strip(), "company": form.get("company", "").strip(),
        **({"visitorHostEmail": host_email} if (host_email := form.get("host-email", "").strip()) else {}),
        "visitorBadgeStartDate": start, "visitorBadgeEndDate": end,
        "emailNotifications": form.get("emails", "").strip(), "notes": form.get("notes", "").strip(),
        "isBulkRequest": False,
        "attachments": [{"id": a, "name": names.get(a, "file")} for a in form.getlist("attach")
                        if isinstance(a, str)][:10],
    }
    # an unticked box is a standard badge: always sent, since the API requires it of unescorted visitors
    body["isExtendedVisitorBadge"] = bool(form.get("extended"))
    return body, [s["code"] for s in chosen]


def _times(form: Any, code: str) -> dict[str, str]:
    """A site's daily hours, when the form gives them (HH:mm, site time)."""
    out = {}
    for field, key in (("start-time", "accessStartTime"), ("end-time", "accessEndTime")):
        value = form.get(f"{field}-{code}", "").strip()
        if value:
            out[key] = value
    return out


def _kind_of(form: Any, sites: list[dict[str, Any]]) -> Kind | None:
    """PoP/POE room access when only PoP/POE rooms are ticked; a visitor request when none is; None
    (refused) for both at once: they are different requests with different approvers' rules."""
    rooms = any(form.getlist(f"room-{s['code']}") for s in sites if form.get(f"site-{s['code']}"))
    places = any(form.getlist(f"loc-{s['code']}") for s in sites if form.get(f"site-{s['code']}"))
    if rooms and places:
        return None
    return POP_POE if rooms else NEW_VISITOR


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
        if m.group(3) in ("accessStartTime", "accessEndTime"):
            return f"{'start' if m.group(3) == 'accessStartTime' else 'end'}-time-{code}"
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
    m = re.match(r"(start-time|end-time|site|loc|start|end)-(.*)$", where)
    if m:
        return {"site": "Site", "loc": "Locations at", "start": "Access from at", "end": "Access until at",
                "start-time": "Daily from at", "end-time": "Daily until at"}[m.group(1)] + f" {m.group(2)}"
    return _LABELS.get(where, where)


# The API's words for things, as this form names them (a person never saw "visitorType true").
_FORM_WORDS = (
    (" (visitorType true)", ""), (" (visitorType false)", ""), ("visitorType", "Escorted?"),
    ("isExtendedVisitorBadge", "Extended badge"), ("visitorBadgeStartDate", "Badge from"),
    ("visitorBadgeEndDate", "Badge until"), ("accessStartDate", "Access from"), ("accessEndDate", "Access until"),
    ("accessStartTime", "Daily from"), ("accessEndTime", "Daily until"),
    ("escortFirstName", "Escort's first name"), ("escortLastName", "Escort's last name"),
    ("emailNotifications", "Also notify"), ("must have at least 1 item", "needs at least one: tick one"),
    ("must be a boolean (true or false)", "must be chosen"), ("is mandatory", "is needed"),
    ("is null or empty", "is needed"),
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


@router.post("/a/{account_id}/requests/new")
async def create_request(request: Request, p: PortalDep) -> Response:
    from starlette.exceptions import HTTPException as StarletteHTTPException

    try:
        async with request.form(max_files=0, max_fields=2000) as multi:
            form = FormValues(multi)
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
    kind = _kind_of(form, sites)
    if kind is None:
        said_ = "Tick either cages and suites or PoP/POE rooms: they are separate requests."
        return await _create_page(request, p, form, {"sites": [said_]}, [("sites", f"Sites: {said_}")], status=400)
    if kind == POP_POE:
        need(p, "pop-poe:request")
    db = db_of(request)
    try:
        parsed = await access.parse_requests(db, p.ctx, [body], kind)
        created, _replayed = await access.create_with_key(db, p.ctx, parsed, f"form-{form.get('idem', '')[:64]}",
                                                          namespace=-p.person.user_id, kind=kind)
    except ValidationFailed as exc:
        errors: dict[str, list[str]] = {}
        summary = []
        for d in exc.details:
            where = field_of(d.field, codes)
            message = _beside(d)
            errors.setdefault(where, []).append(message)
            summary.append((where, f"{_label(where)}: {message}"))
        return await _create_page(request, p, form, errors, summary, status=400)
    except GatehouseError as exc:
        return await _create_page(request, p, form, {"form": [said(exc)]}, [("form", said(exc))],
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
    if not same_origin(request):
        raise CsrfRefused()
    need(p, "attachments:write")
    s = request.app.state
    try:
        done = await files.upload_staged(db_of(request), s.storage, s.settings, p.ctx.principal, request, None,
                                         guards={"csrf": lambda token: csrf_ok(p, token)})
    except GatehouseError as exc:
        if enhanced:
            return JSONResponse({"error": said(exc)[:300]}, status_code=exc.status_code)
        return go(f"{p.base}/requests/new", upload_error=said(exc)[:200])
    if enhanced:
        return JSONResponse({"id": done["attachmentId"], "name": done["attachmentName"], "size": done["attachmentSize"]})
    return go(f"{p.base}/requests/new", uploaded=done["attachmentName"][:100])
