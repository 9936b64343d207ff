"""Facility access: create visitor access requests, read, list, edit, cancel, approve, deny."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.repository import account_auto_approves, auto_approve_read
from gatehouse.auth.principal import AccountContext
from gatehouse.events import service as events
from gatehouse.events.service import Recorded
from gatehouse.facility_access import badges, idempotency, lifecycle, reads, repository, staged, terminate
from gatehouse.facility_access.badge_schemas import ApproveIn
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.facility_access.models import TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.facility_access.presenter import DEFAULT_END, DEFAULT_START, render_ticket, title_of
from gatehouse.facility_access.rules import NEW_VISITOR, Kind, Planned, load_sites, normalise_emails, refusal, validate
from gatehouse.facility_access.schemas import AccessRequestIn, CancelIn, EditIn
from gatehouse.facility_access.staged import StagedRef
from gatehouse.kit import ownerlock
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import ErrorDetail, Forbidden, NotFound, ValidationFailed
from gatehouse.kit.leanread import LeanReader, Rows
from gatehouse.kit.leanwrite import Conflicted, Statement
from gatehouse.kit.leanwrite import insert as lean_insert
from gatehouse.kit.sitetime import site_today
from gatehouse.sites.repository import granted_site, granted_site_read


def ticket_not_found() -> NotFound:
    return NotFound("The ticket was not found.", code="TICKET_NOTFOUND")


async def rule_problems(db: Database, ctx: AccountContext, requests: Sequence[Any], kind: Kind = NEW_VISITOR
                        ) -> list[ErrorDetail]:
    """The business rules of a create, on the parts of an invalid body that did parse (partial.py):
    a body with twenty mistakes gets twenty details, not only its type errors."""
    problems: list[ErrorDetail] = []
    codes = {s.site for r in requests if r is not None for s in (getattr(r, "sites", None) or []) if s is not None}
    sites = await load_sites(db.reader, ctx.account_id, codes, utcnow())
    validate(requests, sites, problems, kind)
    return problems


_requests_adapter: Any = None


def requests_adapter() -> Any:
    global _requests_adapter
    if _requests_adapter is None:
        from pydantic import TypeAdapter

        from gatehouse.facility_access.schemas import AccessRequestsIn

        _requests_adapter = TypeAdapter(AccessRequestsIn)
    return _requests_adapter


async def parse_requests(db: Database, ctx: AccountContext, data: list[Any], kind: Kind = NEW_VISITOR
                         ) -> list[AccessRequestIn]:
    """A create body built by a form or a CSV row (the console), checked exactly as the API checks a
    JSON body: the types, then the rules on what did parse; ValidationFailed lists every problem."""
    import orjson
    from pydantic import ValidationError

    from gatehouse.facility_access.partial import partial_requests
    from gatehouse.kit.validation import details_from_validation_error

    raw = orjson.dumps(data)
    try:
        parsed = requests_adapter().validate_json(raw, strict=True)
    except ValidationError as exc:
        details = details_from_validation_error(exc)
        seen = {d.field for d in details}
        details += [d for d in await rule_problems(db, ctx, partial_requests(raw), kind) if d.field not in seen]
        raise ValidationFailed(details, total=len(details)) from None
    problems = await rule_problems(db, ctx, parsed, kind)
    if problems:
        raise ValidationFailed(problems)
    return parsed


async def create_with_key(db: Database, ctx: AccountContext, requests: Sequence[AccessRequestIn],
                          key: str | None, namespace: int, kind: Kind = NEW_VISITOR) -> tuple[dict, bool]:
    """Create, under an Idempotency-Key when one is given: (response, replayed). `namespace` keeps
    keys apart per caller (the app's id; a console person's negative user id)."""
    if key is None:
        return await create_requests(db, ctx, requests, kind=kind), False
    key = idempotency.check_key(key)
    body = [r.model_dump(mode="json") for r in requests]
    fp = idempotency.fingerprint(body if kind == NEW_VISITOR else {"kind": kind.category or kind.request_type,
                                                                   "body": body}, ctx.account_id)
    claim = await idempotency.claim(db, namespace, key, fp)
    if claim.replay is not None:
        return claim.replay, True
    try:
        return await create_requests(db, ctx, requests, claim, kind=kind), False
    except BaseException:
        await idempotency.release(db, claim)
        raise


async def create_requests(db: Database, ctx: AccountContext, requests: Sequence[AccessRequestIn],
                          claim: idempotency.Claim | None = None, kind: Kind = NEW_VISITOR) -> dict:
    async with db.reader.pinned():  # its reads and its write on one connection (PostgreSQL)
        return await _create(db, ctx, requests, claim, kind)


async def _create(db: Database, ctx: AccountContext, requests: Sequence[AccessRequestIn],
                  claim: idempotency.Claim | None, kind: Kind) -> dict:
    now = utcnow()
    problems: list[ErrorDetail] = []
    codes = sorted({s.site for r in requests for s in r.sites})
    # ids for as many tickets as the requests can make (validation may make fewer)
    drawn = repository.new_ids(sum(len(r.visitors) * len(r.sites) for r in requests if r is not None))
    # the reads below, made in one round trip (PostgreSQL), each answered to its own call
    await db.reader.read_ahead([*(granted_site_read(ctx.account_id, code) for code in codes),
                                auto_approve_read(ctx.account_id), repository.taken_read(drawn)])
    sites = await load_sites(db.reader, ctx.account_id, set(codes), now)
    refs_by_request = [[StagedRef(a.id, a.name, f"[{i}].attachments[{n}].id") for n, a in enumerate(r.attachments)]
                       for i, r in enumerate(requests)]
    plans = validate(requests, sites, problems, kind)
    has_files = any(refs_by_request)
    if has_files:
        async with db.read() as session:
            for refs in refs_by_request:
                problems.extend(await staged.links().check_staged_refs(session, ctx.user_id, refs))
    auto_approve = await account_auto_approves(db.reader, ctx.account_id)
    if problems:
        raise refusal(problems)
    status = lifecycle.initial_status(requester_approves="visitor-access:approve" in ctx.permissions,
                                      auto_approve=auto_approve)
    for attempt in range(3):
        try:
            return await _insert(db, ctx, plans, refs_by_request, status, now, claim, drawn if attempt == 0 else [])
        except (IntegrityError, Conflicted):
            if attempt == 2:  # three random-id collisions in a row: not a collision
                raise
    raise AssertionError("unreachable")


def _notes(req: AccessRequestIn) -> str:
    """The request's notes; a PoP/POE request's `details` follow them (both are what the site reads)."""
    details = getattr(req, "details", "")
    return "\n\n".join(part for part in (req.notes or "", details) if part)


def _rows(ctx: AccountContext, plan: Planned, wo_id: str, status: Status, now: datetime
          ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A planned work order's row and its locations' rows: the one place both write paths build them."""
    req, site = plan.request, plan.site
    visitor = req.visitors[plan.visitor_index]
    site_in = req.sites[plan.site_index]
    loc_names = [loc.location for loc in site_in.locations]
    ticket = dict(
        id=wo_id, account_id=ctx.account_id, master_account_id=ctx.master_account_id, site_code=site.code,
        status=status.value, request_type=plan.kind.request_type, ticket_category=plan.kind.category,
        created_by_user_id=ctx.user_id, requester=ctx.display_name,
        created_app_id=ctx.principal.app_id, created_at=now, updated_at=now, closed_at=None,
        modified_by=ctx.display_name,
        visitor_first_name=visitor.visitorFirstName, visitor_last_name=visitor.visitorLastName,
        visitor_email=visitor.visitorEmail, visitor_phone=visitor.visitorPhone or "",
        escorted=req.visitorType,
        escort_first_name=(req.escortFirstName or "") if req.visitorType else "",
        escort_last_name=(req.escortLastName or "") if req.visitorType else "",
        host_first_name=req.visitorHostFirstName, host_last_name=req.visitorHostLastName,
        host_company=req.visitorHostCompany, company=visitor.company or req.company,  # SPEC §3
        host_email=getattr(req, "visitorHostEmail", None) or "",
        badge_start=req.visitorBadgeStartDate, badge_end=req.visitorBadgeEndDate,
        extended_badge=bool(req.isExtendedVisitorBadge) and not req.visitorType, bulk_request=req.isBulkRequest,
        email_notifications=plan.emails, notes=_notes(req),
        customer_external_reference=getattr(req, "customerExternalReference", ""),
        contact_type=getattr(visitor, "contactType", ""),
        title=title_of(visitor.visitorFirstName, visitor.visitorLastName, site.code, loc_names,
                       req.visitorBadgeStartDate),
        location_summary=", ".join(loc_names),
    )
    rooms = site.requestable(plan.kind)
    locations = [dict(work_order_id=wo_id, location_id=rooms[loc.location], location_name=loc.location,
                      access_start=loc.accessStartDate, access_end=loc.accessEndDate,
                      access_start_time=loc.accessStartTime or DEFAULT_START,
                      access_end_time=loc.accessEndTime or DEFAULT_END) for loc in site_in.locations]
    return ticket, locations


async def _insert(db: Database, ctx: AccountContext, plans: list[Planned], refs_by_request: list[list[StagedRef]],
                  status: Status, now: datetime, claim: idempotency.Claim | None, drawn: list[str]) -> dict:
    """The whole create as rows built here, written in one transaction by the lean writer
    (kit/leanwrite.py): tickets, locations, history, counters and the idempotency record; then,
    inside that transaction, what reads: the staged files' records and what each event makes
    (events.statements_of: trail rows, outbox rows, screening). A random id taken meanwhile: Conflicted."""
    ids = await repository.free_ids(db.reader, len(plans), drawn)
    statements: list[Statement] = []
    counts = lifecycle.CountDeltas()
    made: list[tuple[Recorded, dict[str, Any]]] = []
    by_request: dict[int, list[str]] = {}
    memo: dict[Any, Any] = {}  # the channels' reads, shared by this create's tickets (same account)
    sites = sorted({plan.site.code for plan in plans})
    for plan, wo_id in zip(plans, ids, strict=True):
        row, locations = _rows(ctx, plan, wo_id, status, now)
        statements.append(lean_insert(WorkOrder.__table__, row))
        statements += [lean_insert(WorkOrderLocation.__table__, loc) for loc in locations]
        ticket = WorkOrder(**row)  # transient: what the presenter and the channels read
        counts.add(ticket, ticket.status, +1)
        history, event = lifecycle.creation(ticket, actor_user_id=ctx.user_id)
        statements.append(lean_insert(TicketEvent.__table__, history))
        site_locations = [WorkOrderLocation(**loc) for loc in locations]
        view = partial(render_ticket, ticket, plan.site.address, site_locations, ())  # built if a webhook hears it
        made.append((event, {"ticket": ticket, "view": view, "memo": memo, "timezone": plan.site.timezone,
                             "sites": sites}))
        by_request.setdefault(plan.request_index, []).append(wo_id)
    statements += counts.statements()
    response = {"workOrder": [{"workOrderId": wo_id} for wo_id in ids]}
    if claim is not None:
        statements.append(idempotency.complete_statement(claim, response))

    async def in_transaction(tx_rows: Rows) -> tuple[list[Statement], bool]:
        rows = await events.read_ahead(tx_rows, made)  # who is told, read in one round trip
        out: list[Statement] = []
        for index, wo_ids in by_request.items():
            if refs_by_request[index]:
                out += [lean_insert(r.table, r.values) for r in await staged.links().link_rows(
                    rows, ctx.user_id, refs_by_request[index], wo_ids, ctx.display_name, now)]
        queued = False
        for event, known in made:
            trail, event_queued = await events.statements_of(rows, event, known)
            out += trail
            queued = queued or event_queued
        return out, queued

    # the owners' locks with the BEGIN (who hears the change is read under them: kit/ownerlock.py)
    begin_also = "" if db.is_sqlite else ownerlock.shared_sql(ctx.account_id, sites)
    ownerlock.mark_held(memo, ctx.account_id, sites)
    await db.lean.run(statements, plan=in_transaction, begin_also=begin_also)
    return response


# --- read ---------------------------------------------------------------------------------------


async def get_ticket_detail(reader: LeanReader, account_id: str, ticket_id: str) -> dict:
    body = await reads.ticket_detail(reader, account_id, ticket_id)
    if body is None:
        raise ticket_not_found()
    return body


async def list_tickets(db: Database, reader: LeanReader, account_id: str, *, site: str | None,
                       status: str | None, created_by: str | None, size: int, page: int,
                       request_type: str | None = None) -> dict:
    from gatehouse.kit.wire import fmt_datetime

    if site is not None and await granted_site(reader, account_id, site) is None:  # an ungranted site lists nothing
        rows: list[Any] = []
        total = 0
    else:
        rows, total = await reads.ticket_page(reader, account_id, site=site, status=status, created_by=created_by,
                                              size=size, page=page, request_type=request_type)
    total_pages = (total + size - 1) // size
    content = [{
        "id": r.id, "title": r.title, "status": r.status, "site": r.site_code, "requestType": r.request_type,
        "category": r.ticket_category, "isBulkRequest": bool(r.bulk_request), "createdOn": fmt_datetime(r.created_at),
        "updatedOn": fmt_datetime(r.updated_at), "closedOn": fmt_datetime(r.closed_at), "createdBy": r.requester,
        "ticketType": "Facility Access", "description": r.ticket_category, "location": r.location_summary,
    } for r in rows]
    return {"content": content, "pageable": {
        "last": page >= total_pages - 1, "totalPages": total_pages, "totalElements": total, "size": size,
        "number": page, "first": page == 0, "numberOfElements": len(content), "empty": not content,
    }}


# --- edit, cancel, approve, deny ------------------------------------------------------------------


async def _locked_ticket(session: AsyncSession, account_id: str, ticket_id: str) -> WorkOrder:
    ticket = await repository.get_ticket(session, account_id, ticket_id, for_update=True)
    if ticket is None:
        raise ticket_not_found()
    return ticket


async def edit_ticket(db: Database, ctx: AccountContext, ticket_id: str, body: EditIn) -> dict:
    provided = body.model_fields_set
    if not provided:
        raise ValidationFailed([ErrorDetail(
            field="", code="MISSING_FIELD",
            message="Payload must contain visitorPhone and/or emailNotifications.")])
    problems: list[ErrorDetail] = []
    emails = normalise_emails(body.emailNotifications, "emailNotifications", problems) \
        if "emailNotifications" in provided else None
    if problems:
        raise ValidationFailed(problems)
    async with db.write() as session:
        ticket = await _locked_ticket(session, ctx.account_id, ticket_id)
        lifecycle.ensure_open(ticket, "edits")
        now = utcnow()
        if "visitorPhone" in provided:
            ticket.visitor_phone = body.visitorPhone
        if emails is not None:
            ticket.email_notifications = emails
        ticket.updated_at = now
        ticket.modified_by = ctx.display_name
        session.add(TicketEvent(work_order_id=ticket.id, at=now, actor=ctx.display_name, actor_user_id=ctx.user_id,
                                action="edit", from_status=ticket.status, to_status=ticket.status,
                                note=",".join(sorted(provided))))
        await events.record(session, "access_ticket.updated", object_id=ticket.id, account_id=ticket.account_id,
                            site_code=ticket.site_code, data={"fields": sorted(provided)}, at=now)
    return {"workOrderId": ticket.id}


async def cancel_ticket(db: Database, ctx: AccountContext, ticket_id: str, body: CancelIn) -> dict:
    async with db.write() as session:
        ticket = await _locked_ticket(session, ctx.account_id, ticket_id)
        await lifecycle.apply(session, ticket, Action.CANCEL, actor=ctx.display_name, actor_user_id=ctx.user_id,
                              note=body.cancelReason or "", changes={"cancel_reason": body.cancelReason})
    return {"result": {"status": f"Work Order {ticket.id} has been cancelled."}}


def _may_decide(ctx: AccountContext, ticket: WorkOrder) -> None:
    """Visitor tickets are decided with visitor-access:approve; permanent badges in badges.decide."""
    if lifecycle.approver_permission(ticket) not in ctx.permissions:
        raise Forbidden(code="PERMISSION_DENIED")


async def approve_ticket(db: Database, ctx: AccountContext, ticket_id: str, body: ApproveIn | None = None) -> dict:
    async with db.write() as session:
        found = await repository.get_ticket_with_address(session, ctx.account_id, ticket_id, for_update=True)
        if found is None:
            raise ticket_not_found()
        ticket, _address, timezone = found
        lifecycle.ensure_approvable(ticket, site_today(timezone))
        if ticket.request_type == badges.PERMANENT:
            await badges.decide(session, ctx, ticket, body)
            return {"workOrderId": ticket.id, "ticketStatus": ticket.status}
        _may_decide(ctx, ticket)
        if body is not None and body.locations:
            raise ValidationFailed([ErrorDetail(field="locations", code="NOT_APPLICABLE", message=(
                "Payload 'locations' decides a permanent badge request's locations; a visitor ticket is "
                "approved whole."))])
        await lifecycle.apply(session, ticket, Action.APPROVE, actor=ctx.display_name, actor_user_id=ctx.user_id)
        if lifecycle.is_termination(ticket):
            await terminate.carry_out(session, ticket, actor=ctx.display_name, actor_user_id=ctx.user_id)
    return {"workOrderId": ticket.id, "ticketStatus": ticket.status}


async def deny_ticket(db: Database, ctx: AccountContext, ticket_id: str, reason: str) -> dict:
    async with db.write() as session:
        ticket = await _locked_ticket(session, ctx.account_id, ticket_id)
        if ticket.request_type == badges.PERMANENT:
            await badges.decide(session, ctx, ticket, None, deny_reason=reason)
            return {"workOrderId": ticket.id, "ticketStatus": ticket.status}
        _may_decide(ctx, ticket)
        await lifecycle.apply(session, ticket, Action.DENY, actor=ctx.display_name, actor_user_id=ctx.user_id,
                              note=reason)
    return {"workOrderId": ticket.id, "ticketStatus": ticket.status}





