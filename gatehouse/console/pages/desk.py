"""The security desk (SPEC §12): the roster of a site's day, the scan field, a ticket with the actions
its status allows, its files, the visitor log. The same services as /ops/v1."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date
from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import (
    HTMLResponse,
    RedirectResponse,
    Response,
)
from markupsafe import Markup

from gatehouse.attachments import repository as attachments
from gatehouse.attachments.service import download, response_of
from gatehouse.console import web
from gatehouse.console.auth import Person
from gatehouse.console.web import OperatorDep, check_csrf, db_of, op_of, page, templates
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access.arrival import Arrival
from gatehouse.facility_access.lifecycle import Status
from gatehouse.kit.errors import BadRequest, GatehouseError
from gatehouse.kit.sitetime import local, site_today
from gatehouse.operators import security
from gatehouse.operators import service as desk
from gatehouse.operators.repository import photo_taken_at
from gatehouse.operators.repository import sites as sites_of

router = web.router()


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
    found = await desk.roster_page(db, op_of(person), site=chosen.code, status=None, day=the_day,
                                   size=desk.ROSTER_PAGE_MAX, reader=request.app.state.reader,
                                   zones={s.code: s.timezone for s in my_sites})
    more, fingerprint = found.more, found.fingerprint
    data = {"sites": my_sites, "site": chosen, "day": the_day.isoformat(), "q": q,
            "today": site_today(chosen.timezone).isoformat(), "truncated": more}
    key = (fingerprint, chosen.code, data["day"], data["today"], q, more)
    html = _FRAGMENTS.get(key) if fingerprint is not None else None
    if html is None:
        rows = [r for r in found.rows() if not q or _match(r, q)]
        groups = [{"key": k, "title": title, "rows": [r for r in rows if r["ticketStatus"] in statuses]}
                  for k, title, statuses in lifecycle.ROSTER_GROUPS]
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
_FRAGMENTS: OrderedDict[tuple, Markup] = OrderedDict()


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
        await desk.ticket_detail(db_of(request), op_of(person), wo)
    except GatehouseError:
        from urllib.parse import urlencode

        back = {"notice": f"No ticket {code.strip()[:40]!r} at your sites."}
        if site:
            back["site"] = site
        return RedirectResponse(f"/console/desk?{urlencode(back)}", status_code=303)
    return RedirectResponse(f"/console/desk/tickets/{wo}", status_code=303)


async def _ticket_context(request: Request, person: Person, ticket_id: str) -> dict[str, Any]:
    db = db_of(request)
    ticket, actions, tz = await desk.desk_view(db, op_of(person), ticket_id)  # 404 outside the operator's sites
    async with db.read() as session:
        history = await tickets.ticket_history(session, ticket_id)
        files = await attachments.list_for_ticket(session, ticket_id)
        taken = await photo_taken_at(session, ticket_id)
    from markupsafe import Markup

    from gatehouse.visits.rules import rules_html

    pending_rules = ticket.get("rulesToAccept")
    return {"t": ticket, "actions": actions, "tz": tz, "has_photo": taken is not None,
            "rules_html": Markup(rules_html(pending_rules["markdown"])) if pending_rules else "",
            "photo_version": int(taken.timestamp()) if taken else 0,
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


ACTIONS = {"check-in", "check-out", "complete", "comment", "security-hold"}


def _arrival(doc_type: str, country: str, last4: str, expiry: str, name_matches: str, escort_present: str,
             escort_badge: str, rules_name: str = "") -> Arrival:
    """The check-in form's identity and escort fields, read by the API's own schema (a field left
    out is a question not answered: the site's rules say whether that is allowed)."""
    from pydantic import ValidationError

    from gatehouse.kit.errors import ErrorDetail, ValidationFailed
    from gatehouse.operators.schemas import IdentityDocumentIn

    document = None
    if doc_type or country or last4 or expiry:
        try:
            document = IdentityDocumentIn.model_validate({"type": doc_type, "issuingCountry": country.strip(),
                                                          "numberLast4": last4.strip(), "expiryDate": expiry})
        except ValidationError as exc:
            raise ValidationFailed([ErrorDetail(field="identityDocument", code="INVALID_VALUE",
                                                message="The identity document: " + web.pydantic_said(exc))]) from None
    return Arrival(document, True if name_matches == "1" else (None if document is None else False),
                   True if escort_present == "1" else None, escort_badge.strip() or None, rules_name.strip() or None)


@router.post("/desk/tickets/{ticket_id}/{action}")
async def ticket_action(request: Request, person: OperatorDep, ticket_id: str, action: str,
                        csrf: Annotated[str, Form(max_length=100)] = "",
                        badge_number: Annotated[str, Form(max_length=100)] = "",
                        comment: Annotated[str, Form(max_length=5000)] = "",
                        doc_type: Annotated[str, Form(max_length=20)] = "",
                        doc_country: Annotated[str, Form(max_length=100)] = "",
                        doc_last4: Annotated[str, Form(max_length=20)] = "",
                        doc_expiry: Annotated[str, Form(max_length=20)] = "",
                        name_matches: Annotated[str, Form(max_length=5)] = "",
                        escort_present: Annotated[str, Form(max_length=5)] = "",
                        escort_badge: Annotated[str, Form(max_length=100)] = "",
                        rules_name: Annotated[str, Form(max_length=200)] = "",
                        decision: Annotated[str, Form(max_length=10)] = "",
                        hold_reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    check_csrf(person, csrf)
    ticket_id = ticket_id[:20]
    if action not in ACTIONS:
        return page(request, "error.html", status=404, person=person, message="No such action.")
    db, op = db_of(request), op_of(person)
    message = error = None
    try:  # the same services, rules, events and mails as /ops/v1
        if action == "check-in":
            seen = _arrival(doc_type, doc_country, doc_last4, doc_expiry, name_matches, escort_present, escort_badge,
                            rules_name)
            done = await desk.check_in(db, op, ticket_id, badge_number.strip(), seen)
            message = f"Checked in with badge {done['badgeNumber']}."
        elif action == "check-out":
            done = await desk.check_out(db, op, ticket_id)
            message = "Checked out; the ticket is completed." if done["ticketStatus"] == Status.COMPLETED else \
                "Checked out for today."
        elif action == "security-hold":
            if decision not in ("clear", "uphold") or not hold_reason.strip():
                raise BadRequest("Choose clear or uphold and give the reason.")
            done = await security.decide_hold(db, op, ticket_id, decision, hold_reason[:500])
            message = ("Hold cleared: check-in may go on." if decision == "clear"
                       else "Hold upheld: the visit is denied (the customer reads \"Denied by site security\").")
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


@router.get("/desk/tickets/{ticket_id}/badge.pdf")
async def badge(request: Request, person: OperatorDep, ticket_id: str,
                sheet: Annotated[str, Query(max_length=5)] = "") -> Response:
    """The printed badge of a checked-in visitor: a 102 × 76 mm label, or `?sheet=a4` (six to a page)."""
    from gatehouse.operators.badge_pdf import badge_label, badge_sheet

    try:
        t, _actions, tz = await desk.desk_view(db_of(request), op_of(person), ticket_id[:20])
    except GatehouseError:
        return page(request, "error.html", status=404, person=person, message="No such ticket at your sites.")
    if not t["checkInTime"] or t["ticketStatus"] != Status.IN_PROGRESS:
        return page(request, "error.html", status=409, person=person,
                    message="A badge is printed for a visitor who is checked in.")
    from gatehouse.operators.photos import photo_of

    found = await photo_of(db_of(request), op_of(person), t["ticketId"])
    photo = found.data if found is not None else None
    data = badge_sheet([t], tz, {t["ticketId"]: photo} if photo else None) if sheet == "a4" else \
        badge_label(t, tz, photo)
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="badge-{t["ticketId"]}{"-a4" if sheet == "a4" else ""}.pdf"',
        "Cache-Control": "no-store"})


@router.get("/desk/tickets/{ticket_id}/files/{file_id}")
async def ticket_file(request: Request, person: OperatorDep, ticket_id: str, file_id: str) -> Response:
    async with db_of(request).read() as session:  # closed before streaming
        found = await attachments.file_at_sites(session, sorted(person.sites), ticket_id[:20], file_id[:40])
    if found is None:
        return page(request, "error.html", status=404, person=person, message="No such file.")
    attachment, blob = found
    d = download(request.app.state.storage, blob, attachment.filename, None, None)
    return response_of(d)


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
                   f"checkedOut ({tz})", "bookedAccess"])
    for r in rows:
        writer.row([r["ticketId"], r["visitor"], r["company"], r["host"], r["escort"], r["badge"], r["in"], r["out"],
                    r["window"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="visitor-log-{site}-{first}-{last}.csv"'})
