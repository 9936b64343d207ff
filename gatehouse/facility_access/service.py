"""Facility access: create visitor access requests, read, list, edit, cancel, approve, deny."""

from __future__ import annotations

from typing import Any

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.facility_access import staged
from gatehouse.facility_access.staged import StagedRef
from gatehouse.auth.principal import AccountContext
from gatehouse.facility_access import idempotency, lifecycle, repository
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.events import service as events
from gatehouse.facility_access.models import TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.facility_access.schemas import AccessRequestIn, CancelIn, EditIn, is_email
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed
from gatehouse.facility_access import reads
from gatehouse.kit.leanread import LeanReader
from gatehouse.kit.leanwrite import Conflicted, Statement
from gatehouse.kit.leanwrite import insert as lean_insert
from gatehouse.sites.models import Site
from gatehouse.accounts.repository import account_auto_approves
from gatehouse.sites.repository import granted_site, granted_site_lean

MAX_COMBINATIONS = 10
BADGE_START_MAX_DAYS = 90
BADGE_LENGTH_MAX_DAYS = 365
EXTENDED_BADGE_MAX_DAYS = 30


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def earliest_today(now: datetime | None = None) -> date:
    """The date in the last time zone to reach a new day (UTC-12): a date before it is past everywhere."""
    return ((now or utcnow()) - timedelta(hours=12)).date()


def site_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date at a site: `now` is naive UTC."""
    now = now or utcnow()
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone(timezone)).date()


def ticket_not_found() -> NotFound:
    return NotFound("The ticket was not found.", code="TICKET_NOTFOUND")


def badge_type(escorted: bool, extended: bool) -> str:
    if escorted:
        return "Visitor Access (Escorted)"
    return "Visitor Access (Extended)" if extended else "Visitor Access (Unescorted)"


TITLE_MAX = 400  # the column's length: PostgreSQL refuses longer, SQLite would silently keep it


def title_of(first: str, last: str, site: str, locations: Sequence[str], badge_start: date) -> str:
    head = f"{first} {last} going to visit {site} - "
    tail = f" on {badge_start.strftime('%m/%d/%Y')}"
    places = ", ".join(locations)
    room = TITLE_MAX - len(head) - len(tail)
    if len(places) > room:  # many long location names: shortened, never refused
        places = places[: room - 1] + "…"
    return head + places + tail


def normalise_emails(value: str | None, field: str, problems: list[ErrorDetail]) -> str:
    """'a@x.com, b@y.com' -> 'a@x.com,b@y.com'; each address syntax-checked (no DNS)."""
    if not value or not value.strip():
        return ""
    parts = [p.strip() for p in value.split(",")]
    for index, part in enumerate(parts):
        if not is_email(part):
            shown = part if len(part) <= 60 else part[:57] + "..."
            problems.append(ErrorDetail(
                field=field, code="INVALID_EMAIL",
                message=f"Payload '{field}' entry {index + 1} ('{shown}') is not a valid email address."))
    return ",".join(parts)


# --- create -------------------------------------------------------------------------------------


@dataclass
class _SiteInfo:
    code: str
    address: str
    timezone: str
    today: date
    locations: dict[str, int]  # visible location name -> id


@dataclass
class _Planned:
    request_index: int
    request: AccessRequestIn
    visitor_index: int
    site: _SiteInfo
    site_index: int
    emails: str


async def _load_sites(reader: LeanReader, account_id: str, codes: set[str], now: datetime) -> dict[str, _SiteInfo]:
    out: dict[str, _SiteInfo] = {}
    for code in codes:
        site = await granted_site_lean(reader, account_id, code)
        if site is not None:
            out[code] = _SiteInfo(code, site.address, site.timezone, site_today(site.timezone, now),
                                  {loc.name: loc.id for loc in site.locations})
    return out


def _validate(requests: Sequence[AccessRequestIn], sites: dict[str, _SiteInfo], problems: list[ErrorDetail]
              ) -> list[_Planned]:
    plans: list[_Planned] = []

    def add(field: str, code: str, message: str) -> None:
        problems.append(ErrorDetail(field=field, code=code, message=f"Payload '{field}' {message}."))

    for i, req in enumerate(requests):
        if req is None:
            continue
        p = f"[{i}]"
        # A request may be partial (`partial.py`: only the fields that passed their types), so every
        # rule below reads what it needs with getattr and skips what did not parse.
        visitors = getattr(req, "visitors", None) or []
        req_sites = getattr(req, "sites", None) or []
        combos = len(visitors) * len(req_sites)
        if combos > MAX_COMBINATIONS:
            add(p, "TOO_MANY_COMBINATIONS",
                f"has {len(visitors)} visitors x {len(req_sites)} sites = {combos} combinations; at most "
                f"{MAX_COMBINATIONS} are allowed")
        seen_emails: set[str] = set()
        for j, v in enumerate(visitors):
            if v is None:
                continue
            key = v.visitorEmail.strip().lower()
            if key in seen_emails:
                add(f"{p}.visitors[{j}].visitorEmail", "DUPLICATE_VISITOR", "repeats a visitor of this request")
            seen_emails.add(key)
        start, end = getattr(req, "visitorBadgeStartDate", None), getattr(req, "visitorBadgeEndDate", None)
        dated = start is not None and end is not None
        if not dated:
            pass
        elif end < start:
            add(f"{p}.visitorBadgeEndDate", "INVALID_DATE_RANGE",
                f"({end}) must not be before visitorBadgeStartDate ({start})")
        elif (end - start).days > BADGE_LENGTH_MAX_DAYS:
            add(f"{p}.visitorBadgeEndDate", "INVALID_DATE_RANGE",
                f"({end}) must be at most {BADGE_LENGTH_MAX_DAYS} days after visitorBadgeStartDate ({start})")
        visitor_type = getattr(req, "visitorType", None)
        extended = getattr(req, "isExtendedVisitorBadge", None)
        if visitor_type is None:
            pass
        elif visitor_type:
            for name in ("escortFirstName", "escortLastName"):
                if name in getattr(req, "invalid_fields", ()):
                    continue
                if not (getattr(req, name, None) or "").strip():
                    add(f"{p}.{name}", "MISSING_FIELD", "is mandatory for an escorted visitor (visitorType true)")
            if extended:
                add(f"{p}.isExtendedVisitorBadge", "EXTENDED_BADGE_NOT_ALLOWED",
                    "must not be true for an escorted visitor; extended badges are for unescorted visitors")
        else:
            if extended is None and "isExtendedVisitorBadge" not in getattr(req, "invalid_fields", ()):
                add(f"{p}.isExtendedVisitorBadge", "MISSING_FIELD",
                    "is mandatory for an unescorted visitor (visitorType false)")
            elif extended and dated and end >= start and (end - start).days > EXTENDED_BADGE_MAX_DAYS:
                add(f"{p}.visitorBadgeEndDate", "EXTENDED_BADGE_TOO_LONG",
                    f"must be at most {EXTENDED_BADGE_MAX_DAYS} days after visitorBadgeStartDate for an "
                    "extended visitor badge")
        emails = normalise_emails(getattr(req, "emailNotifications", None), f"{p}.emailNotifications", problems)
        seen_sites: set[str] = set()
        checked_in_a_site = False
        for k, s in enumerate(req_sites):
            if s is None:
                continue
            sp = f"{p}.sites[{k}]"
            if s.site in seen_sites:
                add(f"{sp}.site", "DUPLICATE_SITE", f"repeats site {s.site} of this request")
                continue
            seen_sites.add(s.site)
            info = sites.get(s.site)
            if info is None:
                add(f"{sp}.site", "SITE_NOTFOUND", f"('{s.site}') is not a site granted to the account")
                continue
            today = info.today
            checked_in_a_site = True
            if start is None:
                pass
            elif start < today:
                add(f"{p}.visitorBadgeStartDate", "DATE_IN_PAST",
                    f"({start}) must not be before today ({today}) in site {info.code}'s timezone ({info.timezone})")
            elif (start - today).days > BADGE_START_MAX_DAYS:
                add(f"{p}.visitorBadgeStartDate", "DATE_TOO_FAR",
                    f"({start}) must be at most {BADGE_START_MAX_DAYS} days after today ({today}) in site "
                    f"{info.code}'s timezone ({info.timezone})")
            seen_locs: set[str] = set()
            for m, loc in enumerate(s.locations):
                if loc is None:
                    continue
                lp = f"{sp}.locations[{m}]"
                if loc.location in seen_locs:
                    add(f"{lp}.location", "DUPLICATE_LOCATION", f"repeats location '{loc.location}' of site {s.site}")
                seen_locs.add(loc.location)
                if loc.location not in info.locations:
                    add(f"{lp}.location", "LOCATION_NOTFOUND",
                        f"('{loc.location}') is not a location of site {s.site} granted to the account")
                a_start, a_end = loc.accessStartDate, loc.accessEndDate
                if not dated:
                    pass
                elif a_start < start or a_start > end:
                    add(f"{lp}.accessStartDate", "ACCESS_DATE_OUT_OF_RANGE",
                        f"({a_start}) must be within the badge dates {start} to {end}")
                if a_end < a_start:
                    add(f"{lp}.accessEndDate", "INVALID_DATE_RANGE",
                        f"({a_end}) must not be before accessStartDate ({a_start})")
                elif dated and a_end > end:
                    add(f"{lp}.accessEndDate", "ACCESS_DATE_OUT_OF_RANGE",
                        f"({a_end}) must not be after visitorBadgeEndDate ({end})")
            for j in range(len(visitors)):
                plans.append(_Planned(i, req, j, info, k, emails))
        if not checked_in_a_site and start is not None and start < earliest_today():
            # no valid site to take "today" from: a date before today everywhere on Earth is still wrong
            add(f"{p}.visitorBadgeStartDate", "DATE_IN_PAST",
                f"({start}) must not be before today; it is already past in every time zone")
    # body order: request, then visitor, then site
    plans.sort(key=lambda pl: (pl.request_index, pl.visitor_index, pl.site_index))
    return plans


def _new_ids(n: int) -> list[str]:
    ids: set[str] = set()
    while len(ids) < n:
        ids.add(f"WO{secrets.randbelow(10_000_000):07d}")
    return list(ids)


async def _free_ids(db: Database, n: int) -> list[str]:
    """n random ids not yet taken (with a million tickets, one id in ten is): the few taken ones are
    drawn again, so the insert's own unique check only meets a race (retried by the caller)."""
    ids: list[str] = []
    while len(ids) < n:
        fresh = [i for i in _new_ids(n - len(ids)) if i not in ids]
        taken = await repository.taken_ids(db.reader, fresh)
        ids += [i for i in fresh if i not in taken]
    return ids


async def rule_problems(db: Database, ctx: AccountContext, requests: Sequence[Any]) -> list[ErrorDetail]:
    """The business rules of a create, on the parts of an invalid body that did parse (partial.py):
    a body with twenty mistakes gets twenty details, not only its type errors."""
    problems: list[ErrorDetail] = []
    codes = {s.site for r in requests if r is not None for s in (getattr(r, "sites", None) or []) if s is not None}
    sites = await _load_sites(db.reader, ctx.account_id, codes, utcnow())
    _validate(requests, sites, problems)
    return problems


_requests_adapter: Any = None


def requests_adapter() -> Any:
    global _requests_adapter
    if _requests_adapter is None:
        from pydantic import TypeAdapter

        from gatehouse.facility_access.schemas import AccessRequestsIn

        _requests_adapter = TypeAdapter(AccessRequestsIn)
    return _requests_adapter


async def parse_requests(db: Database, ctx: AccountContext, data: list[Any]) -> list[AccessRequestIn]:
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
        details += [d for d in await rule_problems(db, ctx, partial_requests(raw)) if d.field not in seen]
        raise ValidationFailed(details, total=len(details)) from None
    problems = await rule_problems(db, ctx, parsed)
    if problems:
        raise ValidationFailed(problems)
    return parsed


async def create_with_key(db: Database, ctx: AccountContext, requests: Sequence[AccessRequestIn],
                          key: str | None, namespace: int) -> tuple[dict, bool]:
    """Create, under an Idempotency-Key when one is given: (response, replayed). `namespace` keeps
    keys apart per caller (the app's id; a console person's negative user id)."""
    if key is None:
        return await create_requests(db, ctx, requests), False
    key = idempotency.check_key(key)
    fp = idempotency.fingerprint(requests_adapter().dump_python(list(requests), mode="json"), ctx.account_id)
    claim = await idempotency.claim(db, namespace, key, fp)
    if claim.replay is not None:
        return claim.replay, True
    try:
        return await create_requests(db, ctx, requests, claim), False
    except BaseException:
        await idempotency.release(db, claim)
        raise


async def create_requests(db: Database, ctx: AccountContext, requests: Sequence[AccessRequestIn],
                          claim: idempotency.Claim | None = None) -> dict:
    now = utcnow()
    problems: list[ErrorDetail] = []
    sites = await _load_sites(db.reader, ctx.account_id, {s.site for r in requests for s in r.sites}, now)
    refs_by_request = [[StagedRef(a.id, a.name, f"[{i}].attachments[{n}].id") for n, a in enumerate(r.attachments)]
                       for i, r in enumerate(requests)]
    plans = _validate(requests, sites, problems)
    has_files = any(refs_by_request)
    if has_files:
        async with db.read() as session:
            for refs in refs_by_request:
                problems.extend(await staged.links().check_staged_refs(session, ctx.user_id, refs))
    auto_approve = await account_auto_approves(db.reader, ctx.account_id)
    if problems:
        raise ValidationFailed(problems)
    status = lifecycle.initial_status(requester_approves="visitor-access:approve" in ctx.permissions,
                                      auto_approve=auto_approve)
    insert = _insert if has_files else _insert_lean  # linking staged files reads and decides
    for attempt in range(3):
        try:
            return await insert(db, ctx, plans, refs_by_request, status, now, claim)
        except (IntegrityError, Conflicted):
            if attempt == 2:  # three random-id collisions in a row: not a collision
                raise
    raise AssertionError("unreachable")


def _rows(ctx: AccountContext, plan: _Planned, wo_id: str, status: Status, now: datetime
          ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A planned work order's row and its locations' rows: the one place both write paths build them."""
    req, site = plan.request, plan.site
    visitor = req.visitors[plan.visitor_index]
    site_in = req.sites[plan.site_index]
    loc_names = [loc.location for loc in site_in.locations]
    ticket = dict(
        id=wo_id, account_id=ctx.account_id, master_account_id=ctx.master_account_id, site_code=site.code,
        status=status.value, created_by_user_id=ctx.user_id, requester=ctx.display_name,
        created_app_id=ctx.principal.app_id, created_at=now, updated_at=now, closed_at=None,
        modified_by=ctx.display_name,
        visitor_first_name=visitor.visitorFirstName, visitor_last_name=visitor.visitorLastName,
        visitor_email=visitor.visitorEmail, visitor_phone=visitor.visitorPhone or "",
        escorted=req.visitorType,
        escort_first_name=(req.escortFirstName or "") if req.visitorType else "",
        escort_last_name=(req.escortLastName or "") if req.visitorType else "",
        host_first_name=req.visitorHostFirstName, host_last_name=req.visitorHostLastName,
        host_company=req.visitorHostCompany, company=req.company,
        badge_start=req.visitorBadgeStartDate, badge_end=req.visitorBadgeEndDate,
        extended_badge=bool(req.isExtendedVisitorBadge) and not req.visitorType, bulk_request=req.isBulkRequest,
        email_notifications=plan.emails, notes=req.notes or "", customer_external_reference="",
        title=title_of(visitor.visitorFirstName, visitor.visitorLastName, site.code, loc_names,
                       req.visitorBadgeStartDate),
        location_summary=", ".join(loc_names),
    )
    locations = [dict(work_order_id=wo_id, location_id=site.locations[loc.location], location_name=loc.location,
                      access_start=loc.accessStartDate, access_end=loc.accessEndDate) for loc in site_in.locations]
    return ticket, locations


async def _insert_lean(db: Database, ctx: AccountContext, plans: list[_Planned], _refs: list[list[StagedRef]],
                       status: Status, now: datetime, claim: idempotency.Claim | None) -> dict:
    """The whole create as rows built here, written in one transaction by the lean writer
    (kit/leanwrite.py): tickets, locations, history, trail events, the channels' outbox rows
    (events.plan), counters and the idempotency record. A random id taken meanwhile: Conflicted."""
    ids = await _free_ids(db, len(plans))
    statements: list[Statement] = []
    outbox = False
    counts = lifecycle.CountDeltas()
    memo: dict[Any, Any] = {}  # the channels' reads, shared by this create's tickets (same account)
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
        trail, queued = await events.lean_statements(db.reader, event, {"ticket": ticket, "view": view, "memo": memo})
        statements += trail
        outbox = outbox or queued
    statements += counts.statements()
    response = {"workOrder": [{"workOrderId": wo_id} for wo_id in ids]}
    if claim is not None:
        statements.append(idempotency.complete_statement(claim, response))
    await db.lean.run(statements, outbox=outbox)
    return response


async def _insert(db: Database, ctx: AccountContext, plans: list[_Planned], refs_by_request: list[list[StagedRef]],
                  status: Status, now: datetime, claim: idempotency.Claim | None) -> dict:
    ids = await _free_ids(db, len(plans))
    async with db.write() as session:
        by_request: dict[int, list[str]] = {}
        for plan, wo_id in zip(plans, ids, strict=True):
            row, locations = _rows(ctx, plan, wo_id, status, now)
            ticket = WorkOrder(**row)
            session.add(ticket)
            session.add_all([WorkOrderLocation(**loc) for loc in locations])
            await lifecycle.record_created(session, ticket, actor_user_id=ctx.user_id)
            by_request.setdefault(plan.request_index, []).append(wo_id)
        await session.flush()
        for index, wo_ids in by_request.items():
            await staged.links().link_staged(session, ctx.user_id, refs_by_request[index], wo_ids, ctx.display_name)
        response = {"workOrder": [{"workOrderId": wo_id} for wo_id in ids]}
        if claim is not None:
            await idempotency.complete(session, claim, response)
    return response


# --- read ---------------------------------------------------------------------------------------


async def get_ticket_detail(reader: LeanReader, account_id: str, ticket_id: str) -> dict:
    body = await reads.ticket_detail(reader, account_id, ticket_id)
    if body is None:
        raise ticket_not_found()
    return body


def render_ticket(ticket: WorkOrder, address: str, locations: Sequence[WorkOrderLocation], comments: Sequence
                  ) -> dict:
    from gatehouse.kit.wire import fmt_date, fmt_datetime

    return {
        "ticketId": ticket.id, "ticketType": "Facility Access", "ticketStatus": ticket.status,
        "requester": ticket.requester, "ticketCreatedDate": fmt_datetime(ticket.created_at),
        "ticketUpdatedDate": fmt_datetime(ticket.updated_at), "requestType": "Visitor Access",
        "ticketCategory": "New Visitor Access", "contactFirstName": ticket.visitor_first_name,
        "contactLastName": ticket.visitor_last_name, "contactEmail": ticket.visitor_email,
        "contactPhone": ticket.visitor_phone or "", "representingCompany": ticket.company,
        "badgeStartDate": fmt_date(ticket.badge_start), "badgeEndDate": fmt_date(ticket.badge_end),
        "site": [{
            "site": ticket.site_code,
            "locations": [{"location": loc.location_name, "accessStartDate": fmt_date(loc.access_start),
                           "accessEndDate": fmt_date(loc.access_end)} for loc in locations],
            "address": address,
        }],
        "modifiedBy": ticket.modified_by, "emailNotifications": ticket.email_notifications or "",
        "visitorType": "Escorted visitor" if ticket.escorted else "Unescorted visitor",
        "visitorBadgeType": badge_type(ticket.escorted, ticket.extended_badge),
        "visitorHostFirstName": ticket.host_first_name, "visitorHostLastName": ticket.host_last_name,
        "hostCompany": ticket.host_company, "notes": ticket.notes or "", "contactType": ticket.title,
        "escortFirstName": ticket.escort_first_name or "", "escortLastName": ticket.escort_last_name or "",
        "visitorBadgeStartDate": fmt_date(ticket.badge_start), "visitorBadgeEndDate": fmt_date(ticket.badge_end),
        "customerExternalReference": ticket.customer_external_reference or "",
        "workDescription": ticket.notes or "", "description": ticket.title, "bulkRequest": bool(ticket.bulk_request),
        "closedOn": fmt_datetime(ticket.closed_at),
        "comments": [{"comment": c.comment, "commentedBy": c.commented_by,
                      "commentedOn": fmt_datetime(c.created_at)} for c in comments],
    }


async def list_tickets(db: Database, reader: LeanReader, account_id: str, *, site: str | None,
                       status: str | None, created_by: str | None, size: int, page: int) -> dict:
    from gatehouse.kit.wire import fmt_datetime

    if site is not None:
        async with db.read() as session:  # an ungranted site lists nothing
            granted = await granted_site(session, account_id, site) is not None
    if site is not None and not granted:
        rows, total = [], 0
    else:
        rows, total = await reads.ticket_page(reader, account_id, site=site, status=status, created_by=created_by,
                                              size=size, page=page)
    total_pages = (total + size - 1) // size
    content = [{
        "id": r.id, "title": r.title, "status": r.status, "site": r.site_code, "requestType": "Visitor Access",
        "category": "New Visitor Access", "isBulkRequest": bool(r.bulk_request), "createdOn": fmt_datetime(r.created_at),
        "updatedOn": fmt_datetime(r.updated_at), "closedOn": fmt_datetime(r.closed_at), "createdBy": r.requester,
        "ticketType": "Facility Access", "description": "New Visitor Access", "location": r.location_summary,
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
                              note=body.cancelReason, changes={"cancel_reason": body.cancelReason})
    return {"result": {"status": f"Work Order {ticket.id} has been cancelled."}}


async def approve_ticket(db: Database, ctx: AccountContext, ticket_id: str) -> dict:
    async with db.write() as session:
        found = await repository.get_ticket_with_address(session, ctx.account_id, ticket_id)
        if found is None:
            raise ticket_not_found()
        ticket, _address, timezone = found
        lifecycle.ensure_approvable(ticket, site_today(timezone))
        await lifecycle.apply(session, ticket, Action.APPROVE, actor=ctx.display_name, actor_user_id=ctx.user_id)
    return {"workOrderId": ticket.id, "ticketStatus": ticket.status}


async def deny_ticket(db: Database, ctx: AccountContext, ticket_id: str, reason: str) -> dict:
    async with db.write() as session:
        ticket = await _locked_ticket(session, ctx.account_id, ticket_id)
        await lifecycle.apply(session, ticket, Action.DENY, actor=ctx.display_name, actor_user_id=ctx.user_id,
                              note=reason)
    return {"workOrderId": ticket.id, "ticketStatus": ticket.status}





async def ticket_view(session: AsyncSession, ticket_id: str) -> tuple[dict, Site] | None:
    """The ticket as the API shows it, unscoped, for the worker's channels (mail, webhooks): they act
    on events whose account and site were scoped when the change was made."""
    row = (await session.execute(select(WorkOrder, Site).join(Site, Site.code == WorkOrder.site_code)
                                 .where(WorkOrder.id == ticket_id))).first()
    if row is None:
        return None
    ticket, site = row
    body = render_ticket(ticket, site.address, await repository.ticket_locations(session, ticket.id),
                         await repository.ticket_comments(session, ticket.id))
    return body, site
