"""Permanent badges (SPEC §13): New Badge, Modify Badge and Terminate All Access requests, each one
work order (`requestType: "Permanent Badge"`) read, listed, commented, approved and mailed as
visitor tickets are; its locations are decided one by one; the badge holder's access is the
approved locations of their requests. The rules (decisions, holder status, inactivity) are the
lifecycle's."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.accounts.repository import account_auto_approves
from gatehouse.auth.principal import AccountContext
from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle, repository
from gatehouse.facility_access.badge_schemas import (
    ApproveIn,
    PermBadgeIn,
    PermBadgeModifyIn,
    PermBadgeTerminateIn,
)
from gatehouse.facility_access.lifecycle import NO_EXPIRY, Action, Decision, Status
from gatehouse.facility_access.models import BadgeHolder, TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.facility_access.presenter import DEFAULT_END, DEFAULT_START, render_location
from gatehouse.facility_access.rules import SiteInfo, load_sites, normalise_emails, refusal
from gatehouse.facility_access.schemas import SiteIn
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import Conflict, ErrorDetail, Forbidden, NotFound, ValidationFailed
from gatehouse.kit.sitetime import site_today
from gatehouse.kit.wire import fmt_date, fmt_datetime
from gatehouse.sites.models import Site

PERMANENT = "Permanent Badge"
NEW, MODIFY, TERMINATE = "New Badge", "Modify Badge", lifecycle.TERMINATE_BADGE_CATEGORY


def _add(problems: list[ErrorDetail], field: str, code: str, predicate: str) -> None:
    problems.append(ErrorDetail(field=field, code=code, message=f"Payload '{field}' {predicate}."))


def check_sites(sites_in: Sequence[SiteIn], sites: dict[str, SiteInfo], start: date | None, end: date | None,
                problems: list[ErrorDetail], prefix: str) -> None:
    """The create's site and location rules for a badge: granted sites and locations, each named once,
    access inside the badge's dates, each window ending after it starts."""
    seen_sites: set[str] = set()
    for k, s in enumerate(sites_in):
        sp = f"{prefix}[{k}]"
        if s.site in seen_sites:
            _add(problems, f"{sp}.site", "DUPLICATE_SITE", f"repeats site {s.site}")
            continue
        seen_sites.add(s.site)
        info = sites.get(s.site)
        if info is None:
            _add(problems, f"{sp}.site", "SITE_NOTFOUND", f"('{s.site}') is not a site granted to the account")
            continue
        seen: set[str] = set()
        for m, loc in enumerate(s.locations):
            lp = f"{sp}.locations[{m}]"
            if loc.location in seen:
                _add(problems, f"{lp}.location", "DUPLICATE_LOCATION", f"repeats location '{loc.location}'")
            seen.add(loc.location)
            if loc.location not in info.locations:
                _add(problems, f"{lp}.location", "LOCATION_NOTFOUND",
                     f"('{loc.location}') is not a location of site {s.site} granted to the account")
            if start is not None and loc.accessStartDate < start:
                _add(problems, f"{lp}.accessStartDate", "ACCESS_DATE_OUT_OF_RANGE",
                     f"({loc.accessStartDate}) must not be before badgeStartDate ({start})")
            if end is not None and loc.accessEndDate > end:
                _add(problems, f"{lp}.accessEndDate", "ACCESS_DATE_OUT_OF_RANGE",
                     f"({loc.accessEndDate}) must not be after badgeExpirationDate ({end})")
            t_start, t_end = loc.accessStartTime or DEFAULT_START, loc.accessEndTime or DEFAULT_END
            if datetime.combine(loc.accessEndDate, t_end) <= datetime.combine(loc.accessStartDate, t_start):
                _add(problems, f"{lp}.accessEndDate", "INVALID_DATE_RANGE",
                     f"({loc.accessEndDate} {t_end:%H:%M}) must be after the window's start "
                     f"({loc.accessStartDate} {t_start:%H:%M})")


async def _holder(session: AsyncSession, account_id: str, email: str, *, lock: bool = False) -> BadgeHolder | None:
    stmt = select(BadgeHolder).where(BadgeHolder.account_id == account_id, BadgeHolder.email_key == email.lower())
    return (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()


def _resource_not_found(field: str, message: str) -> NotFound:
    return NotFound("Resource not found.", code="BADGE_HOLDER_NOTFOUND",
                    details=[ErrorDetail(field=field, code="BADGE_HOLDER_NOTFOUND", message=message)])


async def _approves(db: Database, ctx: AccountContext) -> bool:
    return "permanent-badge:approve" in ctx.permissions or await account_auto_approves(db.reader, ctx.account_id)


async def request_badge(db: Database, ctx: AccountContext, body: PermBadgeIn) -> dict:
    problems: list[ErrorDetail] = []
    emails = normalise_emails(body.emailNotifications, "emailNotifications", problems)
    sites = await load_sites(db.reader, ctx.account_id, {s.site for s in body.sites}, utcnow())
    if body.badgeExpirationDate is not None and body.badgeExpirationDate < body.badgeStartDate:
        _add(problems, "badgeExpirationDate", "INVALID_DATE_RANGE",
             f"({body.badgeExpirationDate}) must not be before badgeStartDate ({body.badgeStartDate})")
    first = sites.get(body.sites[0].site)
    if first is not None and body.badgeStartDate < first.today:
        _add(problems, "badgeStartDate", "DATE_IN_PAST", f"({body.badgeStartDate}) must not be before today "
             f"({first.today}) in site {first.code}'s timezone ({first.timezone})")
    check_sites(body.sites, sites, body.badgeStartDate, body.badgeExpirationDate, problems, "sites")
    if problems:
        raise refusal(problems)
    approved, wo_id, now = await _prepare(db, ctx)
    async with db.write() as session:
        holder = await _holder(session, ctx.account_id, body.email, lock=True)
        if holder is not None and holder.terminated_on is None and holder.deactivated_at is None \
                and await _has_open_badge(session, holder):
            raise Conflict(f"{body.email} already holds permanent badge {holder.id} of this account: modify it "
                           "(PUT /v1/facility-access/perm-badges/modify).", code="BADGE_EXISTS")
        if holder is None:
            holder = BadgeHolder(id=f"BH{secrets.randbelow(100_000_000):08d}", account_id=ctx.account_id,
                                 email_key=body.email.lower(), created_at=now)
            session.add(holder)
        for column, value in dict(first_name=body.firstName, last_name=body.lastName, email=body.email,
                                  company=body.company, phone=body.phone or "", badge_start=body.badgeStartDate,
                                  badge_expiration=body.badgeExpirationDate, terminated_on=None, deactivated_at=None,
                                  activated_at=now if approved else None, updated_at=now).items():
            setattr(holder, column, value)
        await session.flush()
        await _work_order(session, ctx, wo_id, holder, NEW, body.sites, sites, emails, approved, now,
                          start=body.badgeStartDate, end=body.badgeExpirationDate)
    return {"workOrder": [{"workOrderId": wo_id}]}


async def _work_order(session: AsyncSession, ctx: AccountContext, wo_id: str, holder: BadgeHolder, category: str,
                      sites_in: Sequence[SiteIn], sites: dict[str, SiteInfo], emails: str, approved: bool,
                      now: datetime, *, start: date, end: date | None, home: str | None = None) -> WorkOrder:
    names = [loc.location for s in sites_in for loc in s.locations]
    codes = ", ".join(s.site for s in sites_in)
    site_code = sites_in[0].site if sites_in else home
    ticket = WorkOrder(
        id=wo_id, account_id=ctx.account_id, master_account_id=ctx.master_account_id, site_code=site_code,
        status=(Status.APPROVED if approved else Status.PENDING).value, request_type=PERMANENT,
        ticket_category=category, badge_holder_id=holder.id, created_by_user_id=ctx.user_id,
        requester=ctx.display_name, created_app_id=ctx.principal.app_id, created_at=now, updated_at=now,
        modified_by=ctx.display_name, visitor_first_name=holder.first_name, visitor_last_name=holder.last_name,
        visitor_email=holder.email, visitor_phone=holder.phone, escorted=False, host_first_name="",
        host_last_name="", host_company="", company=holder.company, badge_start=start, badge_end=end or NO_EXPIRY,
        extended_badge=False, bulk_request=False, email_notifications=emails, notes="",
        title=f"{holder.first_name} {holder.last_name}: {category.lower()}"
              + (f" at {codes}" if codes else "") + f" from {start.strftime('%m/%d/%Y')}",
        location_summary=", ".join(names)[:4000])
    session.add(ticket)
    decision = Decision.APPROVED if approved else Decision.PENDING
    session.add_all([WorkOrderLocation(
        work_order_id=wo_id, location_id=sites[s.site].locations[loc.location], location_name=loc.location,
        site_code=s.site, access_start=loc.accessStartDate, access_end=loc.accessEndDate,
        access_start_time=loc.accessStartTime or DEFAULT_START, access_end_time=loc.accessEndTime or DEFAULT_END,
        decision=decision.value) for s in sites_in for loc in s.locations])
    await lifecycle.record_created(session, ticket, actor_user_id=ctx.user_id)
    return ticket


async def modify_badge(db: Database, ctx: AccountContext, body: PermBadgeModifyIn) -> dict:
    problems: list[ErrorDetail] = []
    emails = normalise_emails(body.emailNotifications, "emailNotifications", problems)
    sites = await load_sites(db.reader, ctx.account_id, {s.site for s in body.addSites}, utcnow())
    check_sites(body.addSites, sites, body.badgeStartDate, body.badgeExpirationDate, problems, "addSites")
    if problems:
        raise refusal(problems)
    approved, wo_id, now = await _prepare(db, ctx)
    async with db.write() as session:
        holder, home = await _current_holder(session, ctx.account_id, body.email)
        order = await _work_order(session, ctx, wo_id, holder, MODIFY, body.addSites, sites, emails, approved, now,
                                  start=body.badgeStartDate or holder.badge_start,
                                  end=body.badgeExpirationDate or holder.badge_expiration, home=home)
        # what the request changes of the holder, kept on the work order until it is approved
        order.visitor_phone = body.phone if body.phone is not None else holder.phone
        order.company = body.company if body.company is not None else holder.company
        if approved:
            await _apply_to_holder(session, order, now)
    return {"workOrder": [{"workOrderId": wo_id}]}


async def _prepare(db: Database, ctx: AccountContext) -> tuple[bool, str, datetime]:
    """What every badge request needs before its transaction: may it take effect at once, its id, now."""
    return await _approves(db, ctx), (await repository.free_ids(db.reader, 1))[0], utcnow()


async def _current_holder(session: AsyncSession, account_id: str, email: str) -> tuple[BadgeHolder, str]:
    """The account's holder with this email (locked) and the site their badge was filed at; none: 404."""
    holder = await _holder(session, account_id, email, lock=True)
    if holder is None or holder.terminated_on is not None:
        raise _resource_not_found("email", f"No permanent badge of this account is held by {email}.")
    return holder, await _home_site(session, holder)


async def _has_open_badge(session: AsyncSession, holder: BadgeHolder) -> bool:
    """A person holds a badge while a New or Modify Badge request of theirs is open (pending, approved,
    in use); a denied, terminated or deactivated one leaves room for a new request."""
    return (await session.execute(select(WorkOrder.id).where(
        WorkOrder.badge_holder_id == holder.id, WorkOrder.ticket_category.in_([NEW, MODIFY]),
        WorkOrder.status.in_([s.value for s in lifecycle.OPEN])).limit(1))).first() is not None


async def _home_site(session: AsyncSession, holder: BadgeHolder) -> str:
    code = (await session.execute(select(WorkOrder.site_code).where(WorkOrder.badge_holder_id == holder.id)
                                  .order_by(WorkOrder.created_at).limit(1))).scalar_one_or_none()
    if code is None:
        raise _resource_not_found("email", f"No permanent badge of this account is held by {holder.email}.")
    return code


async def terminate_badge(db: Database, ctx: AccountContext, body: PermBadgeTerminateIn) -> dict:
    problems: list[ErrorDetail] = []
    emails = normalise_emails(body.emailNotifications, "emailNotifications", problems)
    if problems:
        raise refusal(problems)
    approved, wo_id, now = await _prepare(db, ctx)
    async with db.write() as session:
        holder, home = await _current_holder(session, ctx.account_id, body.email)
        timezone = (await session.execute(select(Site.timezone).where(Site.code == home))).scalar_one()
        end = body.badgeExpirationDate or site_today(timezone, now)
        order = await _work_order(session, ctx, wo_id, holder, TERMINATE, [], {}, emails, approved, now,
                                  start=end, end=end, home=home)
        if approved:
            await carry_out(session, order, actor=ctx.display_name, actor_user_id=ctx.user_id)
    return {"workOrder": [{"workOrderId": wo_id}]}


async def carry_out(session: AsyncSession, order: WorkOrder, *, actor: str, actor_user_id: int | None) -> None:
    """Terminate All Access, approved: the holder's badge requests end on its day (cut or cancelled, by
    the same rule as a visitor's), the holder is terminated from that day, the order completes."""
    from gatehouse.facility_access.terminate import end_tickets

    holder = await session.get(BadgeHolder, order.badge_holder_id, with_for_update=True)
    if holder is not None:
        holder.terminated_on = order.badge_end
        holder.updated_at = utcnow()
    await end_tickets(session, order, request_type=PERMANENT, actor=actor, actor_user_id=actor_user_id)


async def _apply_to_holder(session: AsyncSession, order: WorkOrder, now: datetime) -> None:
    """An approved request's changes to its holder: activated, and a modify's new details."""
    holder = await session.get(BadgeHolder, order.badge_holder_id, with_for_update=True)
    if holder is None:
        return
    holder.activated_at = holder.activated_at or now
    holder.updated_at = now
    if order.ticket_category == MODIFY:
        holder.phone, holder.company = order.visitor_phone, order.company
        holder.badge_expiration = None if order.badge_end == NO_EXPIRY else order.badge_end


# --- approval, location by location -----------------------------------------------------------------


async def decide(session: AsyncSession, ctx: AccountContext, ticket: WorkOrder, body: ApproveIn | None,
                 deny_reason: str | None = None) -> None:
    """Approve (or, with `deny_reason`, deny) a permanent badge request: the listed locations, else all
    pending ones; the ticket's status follows its decisions (`lifecycle.status_of_decisions`)."""
    if lifecycle.approver_permission(ticket) not in ctx.permissions:
        raise Forbidden(code="PERMISSION_DENIED")
    if ticket.status != Status.PENDING:
        raise lifecycle.conflict(ticket.id, Status(ticket.status), Action.APPROVE if deny_reason is None
                                 else Action.DENY)
    locs = await repository.ticket_locations(session, ticket.id)
    wanted: dict[tuple[str, str], tuple[Decision, str]] = {}
    if body is not None and body.locations:
        by_key = {(loc.site_code or ticket.site_code, loc.location_name) for loc in locs}
        problems = []
        for i, d in enumerate(body.locations):
            if (d.site, d.location) not in by_key:
                problems.append(ErrorDetail(field=f"locations[{i}]", code="LOCATION_NOTFOUND", message=(
                    f"Payload 'locations[{i}]' ({d.site} {d.location}) is not a location of work order {ticket.id}.")))
            wanted[(d.site, d.location)] = (Decision.APPROVED if d.decision == "approve" else Decision.DENIED,
                                            d.reason)
        if problems:
            raise ValidationFailed(problems)
    else:
        verdict = Decision.APPROVED if deny_reason is None else Decision.DENIED
        wanted = {(loc.site_code or ticket.site_code, loc.location_name): (verdict, deny_reason or "")
                  for loc in locs if loc.decision == Decision.PENDING}
    now = utcnow()
    decisions = []
    for loc in locs:
        key = (loc.site_code or ticket.site_code, loc.location_name)
        if key in wanted and loc.decision == Decision.PENDING:
            loc.decision, loc.decision_reason = wanted[key][0].value, wanted[key][1]
        decisions.append(loc.decision or Decision.PENDING)
    await session.flush()
    target = lifecycle.status_of_decisions(decisions)
    action = lifecycle.decide_action(Status(ticket.status), target)
    if action is None:  # some locations still wait: the decisions so far are the ticket's news
        ticket.updated_at, ticket.modified_by = now, ctx.display_name
        session.add(TicketEvent(work_order_id=ticket.id, at=now, actor=ctx.display_name, actor_user_id=ctx.user_id,
                                action="decide", from_status=ticket.status, to_status=ticket.status,
                                note=", ".join(f"{s} {n}: {v[0]}" for (s, n), v in wanted.items())))
        await events.record(session, "access_ticket.updated", object_id=ticket.id, account_id=ticket.account_id,
                            site_code=ticket.site_code, at=now, data={"locations": [
                                {"site": s, "location": n, "decision": v[0].value} for (s, n), v in wanted.items()]})
        return
    reason = deny_reason or "; ".join(v[1] for v in wanted.values() if v[1]) or "All locations were denied."
    await lifecycle.apply(session, ticket, action, actor=ctx.display_name, actor_user_id=ctx.user_id,
                          note=reason if action == Action.DENY else "")
    if action == Action.APPROVE:
        if lifecycle.is_termination(ticket):
            await carry_out(session, ticket, actor=ctx.display_name, actor_user_id=ctx.user_id)
        else:
            await _apply_to_holder(session, ticket, now)


# --- the holders' list --------------------------------------------------------------------------------


async def holders_page(db: Database, account_id: str, *, site: str | None, status: str | None, size: int,
                       page: int) -> dict:
    today = utcnow().date()
    async with db.read() as session:
        holders = (await session.execute(select(BadgeHolder).where(BadgeHolder.account_id == account_id)
                                         .order_by(BadgeHolder.created_at.desc(), BadgeHolder.id.desc()))).scalars().all()
        rows = (await session.execute(
            select(WorkOrder.badge_holder_id, WorkOrder.site_code, WorkOrderLocation)
            .join(WorkOrderLocation, WorkOrderLocation.work_order_id == WorkOrder.id)
            .where(WorkOrder.account_id == account_id, WorkOrder.request_type == PERMANENT,
                   WorkOrder.status.in_([s.value for s in lifecycle.OPEN]))
            .order_by(WorkOrderLocation.id))).all()
    places: dict[str, list[tuple[str, WorkOrderLocation]]] = {}
    for holder_id, home, loc in rows:
        if holder_id is not None:
            places.setdefault(holder_id, []).append((loc.site_code or home, loc))
    out = []
    for h in holders:
        mine = places.get(h.id, [])
        granted = [(code, loc) for code, loc in mine if loc.decision == Decision.APPROVED]
        state = lifecycle.holder_status(h.terminated_on, h.deactivated_at is not None, h.badge_expiration, today,
                                        bool(granted), any(loc.decision == Decision.PENDING for _c, loc in mine))
        if (status is not None and state != status) or (site is not None and all(c != site for c, _l in granted)):
            continue
        by_site: dict[str, list[dict]] = {}
        for code, loc in granted:
            by_site.setdefault(code, []).append(render_location(loc))
        out.append({"badgeHolderId": h.id, "firstName": h.first_name, "lastName": h.last_name, "email": h.email,
                    "company": h.company, "status": state.value, "badgeStartDate": fmt_date(h.badge_start),
                    "badgeExpirationDate": fmt_date(h.badge_expiration), "badgeNumber": h.badge_number or "",
                    "lastCheckIn": fmt_datetime(h.last_check_in),
                    "sites": [{"site": code, "locations": locs} for code, locs in by_site.items()]})
    total = len(out)
    content = out[page * size:(page + 1) * size]
    total_pages = (total + size - 1) // size
    return {"content": content, "pageable": {
        "last": page >= total_pages - 1, "totalPages": total_pages, "totalElements": total, "size": size,
        "number": page, "first": page == 0, "numberOfElements": len(content), "empty": not content}}


# --- the desk and the worker ----------------------------------------------------------------------------


async def checked_in(session: AsyncSession, ticket: WorkOrder, badge_number: str, at: datetime) -> None:
    """A holder at the desk: the badge number is recorded at the first check-in, every check-in kept."""
    if ticket.badge_holder_id is None:
        return
    await session.execute(update(BadgeHolder).where(BadgeHolder.id == ticket.badge_holder_id)
                          .values(last_check_in=at, updated_at=at).execution_options(synchronize_session=False))
    await session.execute(update(BadgeHolder).where(BadgeHolder.id == ticket.badge_holder_id,
                                                    BadgeHolder.badge_number.is_(None))
                          .values(badge_number=badge_number).execution_options(synchronize_session=False))


async def deactivate_unused(db: Database, *, days: int) -> int:
    """The worker's job: a badge unused for `days` (GATEHOUSE_BADGE_INACTIVITY_DAYS) is deactivated —
    its open requests completed with the access_ticket.badge_deactivated event, which mails the holder
    and the notification list. Conditional updates: safe in every process at once."""
    now = utcnow()
    done = 0
    async with db.read() as session:
        candidates = (await session.execute(select(BadgeHolder).where(
            BadgeHolder.deactivated_at.is_(None), BadgeHolder.terminated_on.is_(None),
            BadgeHolder.activated_at.is_not(None)))).scalars().all()
    for h in candidates:
        since = h.last_check_in or h.activated_at
        if since is None or not lifecycle.inactive_badge_due(since, now, days):
            continue
        async with db.write() as session:
            claimed = await session.execute(update(BadgeHolder).where(
                BadgeHolder.id == h.id, BadgeHolder.deactivated_at.is_(None)).values(deactivated_at=now, updated_at=now)
                .execution_options(synchronize_session=False))
            if affected(claimed) != 1:
                continue  # another process took it
            tickets = (await session.execute(select(WorkOrder).where(
                WorkOrder.badge_holder_id == h.id, WorkOrder.status.in_([Status.APPROVED.value,
                                                                          Status.IN_PROGRESS.value]))
                .with_for_update())).scalars().all()
            for ticket in tickets:
                await lifecycle.apply(session, ticket, Action.DEACTIVATE, actor="system", actor_user_id=None)
            done += 1
    return done
