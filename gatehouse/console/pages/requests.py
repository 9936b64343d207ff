"""A customer's requests: the account switcher, the list with the API's filters, a ticket with its
history, comments and files, and its actions (edit, cancel, comment, approve, deny, upload)."""

from __future__ import annotations

from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from gatehouse.attachments import repository as attachments
from gatehouse.attachments import service as files
from gatehouse.console import web
from gatehouse.console.web import (
    PAGE_SIZES,
    CsrfRefused,
    PageNotFound,
    PersonDep,
    Portal,
    PortalDep,
    csrf_ok,
    db_of,
    go,
    held_accounts,
    need,
    page,
    pydantic_said,
    said,
    same_origin,
    show,
    zones,
)
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access import service as access
from gatehouse.facility_access.badge_schemas import ApproveIn, LocationDecisionIn
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.schemas import CancelIn, CancelReason, EditIn
from gatehouse.kit.errors import ErrorDetail, GatehouseError, NotFound, ValidationFailed
from gatehouse.kit.sitetime import local
from gatehouse.sites import repository as site_repo

router = web.router()
# the API's reasons, its default first
CANCEL_REASONS = (CancelIn.model_fields["cancelReason"].default,
                  *(r for r in get_args(CancelReason) if r != CancelIn.model_fields["cancelReason"].default))


@router.get("/accounts")
async def switch(request: Request, person: PersonDep, to: Annotated[str, Query(max_length=40)] = "") -> Response:
    if person.is_operator:
        return RedirectResponse("/console/desk", status_code=303)
    held = await held_accounts(request, person)
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
    readable = [a for a in await held_accounts(request, person) if "tickets:read" in a.permissions]
    async with db_of(request).read() as session:
        for account in readable:
            if await tickets.get_ticket(session, account.id, wo):
                return RedirectResponse(f"/console/a/{account.id}/requests/{wo}", status_code=303)
    raise PageNotFound("No such request in your accounts.")


@router.get("/a/{account_id}")
async def account_home(p: PortalDep) -> Response:
    return RedirectResponse(f"{p.base}/requests", status_code=303)



@router.get("/a/{account_id}/requests")
async def requests_list(request: Request, p: PortalDep,
                        site: Annotated[str, Query(max_length=6)] = "",
                        status: Annotated[str, Query(max_length=32)] = "",
                        created_by: Annotated[str, Query(alias="createdBy", max_length=40)] = "",
                        size: Annotated[int, Query(ge=1, le=100)] = 25,
                        page_no: Annotated[int, Query(alias="page", ge=0, le=100_000)] = 0,
                        notice: Annotated[str, Query(max_length=200)] = "",
                        error: Annotated[str, Query(max_length=500)] = "") -> Response:
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
                statuses=[s.value for s in Status], sizes=PAGE_SIZES, notice=notice, error=error,
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
    is_open = lifecycle.is_open(t["ticketStatus"])
    tz = (await zones(request, p)).get(t["site"][0]["site"], "UTC")
    return show(request, p, "portal/ticket.html", status=status, t=t, message=message, error=error, tz=tz,
                history=[{"at": local(h.at, tz), "actor": h.actor, "action": h.action, "from": h.from_status or "",
                          "to": h.to_status, "note": h.note} for h in history],
                files=file_rows, is_open=is_open, reasons=CANCEL_REASONS,
                can_request=p.can("visitor-access:request"), can_upload=p.can("attachments:write"),
                can_decide=p.can(_approver_of(t)) and lifecycle.can_decide(t["ticketStatus"]),
                no_show=_no_show(t, tz), more_places=await _more_places(request, p, t))


async def _more_places(request: Request, p: Portal, t: dict) -> list[tuple[str, str]]:
    """The account's locations this visit does not have yet: what a modify may add."""
    have = {(s["site"], loc["location"]) for s in t["site"] for loc in s["locations"]}
    out = []
    async with db_of(request).read() as session:
        for site in await site_repo.granted_sites(session, p.account.id):
            for loc in await site_repo.visible_locations(session, p.account.id, site.code):
                if (site.code, loc.name) not in have:
                    out.append((site.code, loc.name))
    return out


def _no_show(t: dict, tz: str) -> bool:
    """Approved, its window over, never checked in (an approved ticket was never checked in)."""
    from datetime import date
    from types import SimpleNamespace

    from gatehouse.kit.sitetime import site_now

    locs = [SimpleNamespace(access_start=date.fromisoformat(loc["accessStartDate"]),
                            access_end=date.fromisoformat(loc["accessEndDate"]),
                            access_start_time=loc.get("accessStartTime"), access_end_time=loc.get("accessEndTime"),
                            decision=(loc.get("approvalStatus") or "").lower() or None)
            for s in t["site"] for loc in s["locations"]]
    if not locs:
        return False
    ticket = SimpleNamespace(status=t["ticketStatus"], checked_in_at=None,
                             badge_start=date.fromisoformat(t["badgeStartDate"]),
                             badge_end=date.fromisoformat(t["badgeEndDate"] or "9999-12-31"))
    return lifecycle.is_no_show(ticket, site_now(tz), lifecycle.access_window(ticket, locs))


def _approver_of(t: dict) -> str:
    """The permission that decides this ticket (lifecycle.approver_permission, on the wire shape)."""
    from types import SimpleNamespace

    return lifecycle.approver_permission(SimpleNamespace(request_type=t.get("requestType", "")))



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
    if not same_origin(request):
        raise CsrfRefused()
    need(p, "attachments:write")
    wo = ticket_id[:20]
    s = request.app.state
    try:
        done = await files.upload_to_work_order(db_of(request), s.storage, s.settings, p.ctx, request, wo, None)
    except NotFound:
        raise PageNotFound("No such request in this account.") from None
    except GatehouseError as exc:
        return await _ticket_page(request, p, wo, status=exc.status_code, error=said(exc))
    return go(f"{p.base}/requests/{wo}", notice=f"Uploaded {done['filename']}.")


APPROVERS = ("visitor-access:approve", "permanent-badge:approve")


@router.post("/a/{account_id}/requests/{ticket_id}/modify")
async def modify(request: Request, p: PortalDep, ticket_id: str, csrf: Annotated[str, Form(max_length=100)] = "",
                 place: Annotated[str, Form(max_length=200)] = "", start: Annotated[str, Form(alias="from", max_length=10)] = "",
                 until: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Visitor modify (SPEC §13): the same visit at another place, as its own work order."""
    from pydantic import ValidationError

    from gatehouse.facility_access.rules import MODIFY_VISITOR
    from gatehouse.facility_access.schemas import ModifyVisitorIn

    csrf_ok(p, csrf)
    need(p, "tickets:read")
    need(p, "visitor-access:request")
    wo = ticket_id[:20]
    try:
        t = await access.get_ticket_detail(request.app.state.reader, p.account.id, wo)
    except NotFound:
        raise PageNotFound("No such request in this account.") from None
    code, _, location = place.partition("|")
    escorted = t["visitorType"] == "Escorted visitor"
    body = {"visitors": [{"visitorFirstName": t["contactFirstName"], "visitorLastName": t["contactLastName"],
                          "visitorEmail": t["contactEmail"], "visitorPhone": t["contactPhone"]}],
            "addSites": [{"site": code, "locations": [{"location": location, "accessStartDate": start,
                                                        "accessEndDate": until}]}],
            "visitorType": escorted, "escortFirstName": t["escortFirstName"], "escortLastName": t["escortLastName"],
            "isExtendedVisitorBadge": t["visitorBadgeType"] == "Visitor Access (Extended)",
            "visitorHostFirstName": t["visitorHostFirstName"], "visitorHostLastName": t["visitorHostLastName"],
            "visitorHostCompany": t["hostCompany"], "company": t["representingCompany"],
            "visitorBadgeStartDate": start, "visitorBadgeEndDate": until,
            "emailNotifications": t["emailNotifications"], "notes": t["notes"]}
    try:
        parsed = ModifyVisitorIn.model_validate(body)
        made, _ = await access.create_with_key(db_of(request), p.ctx, [parsed.model_copy(update={"sites": parsed.addSites})],
                                               None, 0, MODIFY_VISITOR)
    except ValidationError as exc:
        return await _ticket_page(request, p, wo, status=400, error=web.pydantic_said(exc))
    except GatehouseError as exc:
        return await _ticket_page(request, p, wo, status=min(exc.status_code, 409), error=said(exc))
    return go(f"{p.base}/requests", notice="Access added: " + ", ".join(w["workOrderId"] for w in made["workOrder"]))
ACTIONS: dict[str, str | tuple[str, ...]] = {"comment": "visitor-access:request", "edit": "visitor-access:request",
           "cancel": "visitor-access:request", "approve": APPROVERS, "deny": APPROVERS, "decide": APPROVERS}


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
    required = ACTIONS[action]
    if isinstance(required, tuple):  # either of the approvers: which decides this ticket, the service checks
        if not any(p.can(x) for x in required):
            need(p, required[0])
    else:
        need(p, required)
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
            await access.cancel_ticket(db, ctx, wo, CancelIn(cancelReason=reason))
            message = "Cancelled."
        elif action == "approve":
            await access.approve_ticket(db, ctx, wo)
            message = "Approved: the visitor's pass is on its way."
        elif action == "decide":
            from pydantic import ValidationError

            async with request.form(max_files=0, max_fields=500) as form:
                try:
                    picked = [LocationDecisionIn(site=key.split("|", 1)[0], location=key.split("|", 1)[1],
                                                 decision=str(value), reason=str(form.get(f"why:{key}", "")).strip())
                              for name, value in form.multi_items() if name.startswith("decision:") and value
                              for key in [name.removeprefix("decision:")] if "|" in key]
                    body = ApproveIn(locations=picked) if picked else None
                except ValidationError:  # a forged or stale form: say so, never a 500
                    raise ValidationFailed([ErrorDetail(field="decision", code="INVALID_VALUE", message=(
                        "The decisions could not be read: reload the page and decide again."))]) from None
            if body is not None:
                done = await access.approve_ticket(db, ctx, wo, body)
                message = f"Decisions saved: {done['ticketStatus']}."
            else:
                message = "Nothing decided yet."
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
            return go(f"{p.base}/approvals", error=f"{wo}: {said(exc)}")
        return await _ticket_page(request, p, wo, status=exc.status_code if exc.status_code < 500 else 409,
                                  error=said(exc))
    except ValueError as exc:  # pydantic: a field over its length
        return await _ticket_page(request, p, wo, status=400, error=pydantic_said(exc))
    if back == "queue":
        return go(f"{p.base}/approvals", notice=f"{wo}: {message}")
    return go(f"{p.base}/requests/{wo}", notice=message)


@router.get("/a/{account_id}/requests/{ticket_id}/files/{file_id}")
async def download_file(request: Request, p: PortalDep, ticket_id: str, file_id: str) -> Response:
    need(p, "tickets:read")
    # one lean read, done before a byte is streamed (no connection held by a slow reader)
    found = await attachments.work_order_file(request.app.state.reader, p.account.id, ticket_id[:20], file_id[:40])
    if found is None:
        raise PageNotFound("No such file.")
    filename, blob = found
    d = files.download(request.app.state.storage, blob, filename, None, None)
    return files.response_of(d)
