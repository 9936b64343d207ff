"""What operators (site staff) do: the daily roster, check-in/out, completion, comments.
Operators see every account's tickets, but only at their own sites. The API and the CLI both
call these functions; every status change goes through `lifecycle.apply`."""

from __future__ import annotations

import json
from collections.abc import Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.comments.service import add_comment
from gatehouse.events import service as events
from gatehouse.facility_access import badges, lifecycle
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access.arrival import Arrival, ensure_arrival, names_match, recorded
from gatehouse.facility_access.lifecycle import Action, Status, access_window
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.facility_access.presenter import badge_type, render_location, render_ticket
from gatehouse.facility_access.service import ticket_not_found
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import BadRequest, Conflict, ErrorDetail, Forbidden, NotFound, ValidationFailed
from gatehouse.kit.keptreads import Kept, until_change
from gatehouse.kit.leanread import LeanReader, SessionRows
from gatehouse.kit.sitetime import site_now, site_today, zone
from gatehouse.kit.wire import fmt_date
from gatehouse.operators import repository
from gatehouse.sites.models import Site
from gatehouse.sites.service import current_rules
from gatehouse.watchlist import repository as holds
from gatehouse.watchlist import service as watchlist

BADGE_NUMBER_MAX = 40


@dataclass(frozen=True)
class Operator:
    user_id: int
    display_name: str
    sites: frozenset[str]
    roles: frozenset[str] = frozenset({"desk"})  # desk | watchlist | admin (SPEC §16)


def need_role(op: Operator, role: str) -> None:
    """A watchlist or admin action by an operator without that role: 403 naming it."""
    if role not in op.roles:
        raise Forbidden(f"This needs the operator role '{role}'.", code="ROLE_REQUIRED")


async def operator_by_name(db: Database, name: str) -> Operator:
    """For the CLI: act as a named operator."""
    async with db.read() as session:
        found = await repository.operator_named(session, name)
    if found is None:
        raise NotFound(f"no operator named '{name}'")
    user, sites = found
    if user.disabled:
        raise Conflict(f"operator '{name}' is disabled")
    return Operator(user.id, user.display_name, frozenset(sites), frozenset(user.operator_roles.split()))


async def _ticket(session: AsyncSession, op: Operator, ticket_id: str, *, share_lock: bool = False
                  ) -> tuple[WorkOrder, Site]:
    found = await repository.ticket_at_sites(session, op.sites, ticket_id, share_lock=share_lock)
    if found is None:
        raise ticket_not_found()
    return found


def parse_status(status: str | None) -> str | None:
    if status is not None and status not in Status._value2member_map_:
        raise ValidationFailed([ErrorDetail(field="status", code="INVALID_VALUE",
                                            message="Query parameter 'status' has an unexpected value.")])
    return status


ROSTER_PAGE_MAX = 500


async def roster(db: Database, op: Operator, *, site: str | None, status: str | None, day: date | None,
                 page: int = 0, size: int = 100, reader: LeanReader | None = None) -> dict:
    """One page of the tickets whose access covers `day` (default: today in each site's own
    timezone), ordered by site and visitor name. Without `status`, the visitors the desk can expect
    or has seen: cancelled and denied tickets only when asked for. With the lean reader, one query."""
    found = await roster_page(db, op, site=site, status=status, day=day, page=page, size=size, reader=reader)
    return {"content": found.rows(), "pageable": {"page": page, "size": size, "last": not found.more}}


@dataclass
class RosterPage:
    """What `roster_page` read. The desk's flags (site times, no-show, overstay) are worked out only
    when `rows()` is asked for: the desk skips them when it already holds the page rendered for the
    same fingerprint (they were a quarter of the page's time, py-spy)."""
    read: list[dict]  # the rows as read, the stay's raw instants included
    more: bool
    fingerprint: int | None  # with the lean reader: equal fingerprints, equal rows and minute
    zones: dict[str, str]
    now: datetime
    grace: timedelta

    def rows(self) -> list[dict]:
        return [desk_facts(r, self.zones[r["site"]], self.now, self.grace) for r in self.read]


async def roster_page(db: Database, op: Operator, *, site: str | None, status: str | None, day: date | None,
                      page: int = 0, size: int = 100, reader: LeanReader | None = None,
                      zones: dict[str, str] | None = None) -> RosterPage:
    """`roster`'s rows, whether more follow, and (with the lean reader) a fingerprint of exactly what
    was read (the desk reuses its rendered roster on it). `zones`: the sites' time zones, when the
    caller has read them already."""
    if site is not None and site not in op.sites:
        raise NotFound(f"Site '{site}' was not found.", code="SITE_NOTFOUND")
    status = parse_status(status)
    statuses = [status] if status else lifecycle.ROSTER_DEFAULT
    fingerprint = None
    wanted = [site] if site else sorted(op.sites)
    if zones is None or any(code not in zones for code in wanted):
        async with db.read() as session:
            zones = {s.code: s.timezone for s in await repository.sites(session, wanted)}
    days = [(code, day or site_today(zones[code])) for code in wanted if code in zones]
    async with AsyncExitStack() as stack:  # the lean reader, or a read session opened for this one query
        rows = until_change(reader) if reader is not None else SessionRows(await stack.enter_async_context(db.read()))
        raw = await repository.roster(rows, days, statuses, limit=size + 1, offset=page * size)
    # a kept answer carries what was built from it: a reload with nothing committed builds nothing
    derived = raw.derived if isinstance(raw, Kept) else {}
    if "roster" not in derived:
        columns = tuple(raw[0]) if raw else ()
        values = [tuple(r.values()) for r in raw]
        derived["roster"] = ([_lean_row(columns, v) for v in values], hash((columns, tuple(values))))
    built, content = derived["roster"]
    now = utcnow()
    if reader is not None:  # what the desk keys its rendered roster on; the flags move with the clock
        fingerprint = hash((content, now.replace(second=0, microsecond=0)))
    return RosterPage(built[:size], len(built) > size, fingerprint, zones, now, overstay_grace(db))


@lru_cache(maxsize=8192)
def _lean_row(columns: tuple[str, ...], values: tuple) -> dict:
    """A roster row from the lean query's row, built once per distinct row (the desk reloads the same
    few hundred every 30 s on every screen; building them was 40% of the page, py-spy). The dict
    is shared: callers read it, never change it."""
    r = dict(zip(columns, values, strict=True))
    locations = [SimpleNamespace(**loc) for loc in json.loads(r["locations_json"])]
    hold = None if r["hold_status"] is None else {"status": r["hold_status"], "entryId": r["hold_entry"],
                                                  "reason": r["hold_reason"], "matchedOn": r["hold_matched"]}
    return _roster_row(SimpleNamespace(**r), r["account_name"], locations, hold)


def _roster_row(t: WorkOrder | SimpleNamespace, account_name: str, locs: Collection[WorkOrderLocation | SimpleNamespace],
                hold: dict | None = None) -> dict:
    return {
        "ticketId": t.id, "ticketStatus": t.status, "site": t.site_code, "accountId": t.account_id,
        "accountName": account_name, "visitorFirstName": t.visitor_first_name, "visitorLastName": t.visitor_last_name,
        "visitorEmail": t.visitor_email, "company": t.company,
        "visitorType": "Escorted visitor" if t.escorted else "Unescorted visitor",
        "visitorBadgeType": badge_type(bool(t.escorted), bool(t.extended_badge)), "escortFirstName": t.escort_first_name or "",
        "escortLastName": t.escort_last_name or "", "badgeStartDate": fmt_date(t.badge_start),
        "badgeEndDate": fmt_date(t.badge_end), "badgeNumber": t.badge_number or "",
        "locations": [render_location(loc) for loc in locs],
        # the stay's raw instants; `desk_facts` turns them into site time and flags per request
        "_in": _instant(getattr(t, "checked_in_at", None)), "_out": _instant(getattr(t, "checked_out_at", None)),
        "_hold": hold,
    }


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))  # a lean row's text (SQLite)


def desk_facts(row: dict, timezone: str, now: datetime, grace: timedelta) -> dict:
    """A roster row or ops ticket with the desk's times and flags (SPEC §14, §17): check-in and
    check-out in site time, the zone, no-show and overstay, by the lifecycle's rules."""
    out = {k: v for k, v in row.items() if k not in ("_in", "_out", "_hold")}
    out["securityHold"] = row.get("_hold")  # operators only: never in /v1 (SPEC §17)
    locs = [SimpleNamespace(access_start=date.fromisoformat(loc["accessStartDate"]),
                            access_end=date.fromisoformat(loc["accessEndDate"]),
                            access_start_time=loc.get("accessStartTime"), access_end_time=loc.get("accessEndTime"),
                            decision=(loc.get("approvalStatus") or "").lower() or None)
            for loc in row.get("locations") or [x for s in row.get("site", []) for x in s["locations"]]]
    t = SimpleNamespace(status=row["ticketStatus"], checked_in_at=row["_in"], checked_out_at=row["_out"],
                        badge_start=date.fromisoformat(row["badgeStartDate"]),
                        badge_end=date.fromisoformat(row["badgeEndDate"] or "9999-12-31"))
    window = lifecycle.access_window(t, locs)
    here = site_now(timezone, now)
    out.update(checkInTime=site_text(row["_in"], timezone), checkOutTime=site_text(row["_out"], timezone),
               timezone=timezone, noShow=lifecycle.is_no_show(t, here, window),
               overstayed=lifecycle.is_overstayed(t, here, window, grace))
    return out


def site_text(at: datetime | None, timezone: str) -> str:
    if at is None:
        return ""
    return at.replace(tzinfo=UTC).astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def overstay_grace(db: Database) -> timedelta:
    return timedelta(minutes=db.settings.overstay_grace_minutes)


async def ticket_detail(db: Database, op: Operator, ticket_id: str) -> dict:
    return (await desk_view(db, op, ticket_id))[0]  # the same reads; the actions cost nothing more


async def desk_view(db: Database, op: Operator, ticket_id: str) -> tuple[dict, list[str], str]:
    """The desk's ticket page in one read: the ticket as /ops/v1 shows it, the actions the desk may
    offer now (the lifecycle's own rules) and the site's zone."""
    async with db.read() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        locations = await tickets.ticket_locations(session, ticket.id)
        body = render_ticket(ticket, site.address, locations, await tickets.ticket_comments(session, ticket.id))
        hold = await holds.hold_of(session, ticket.id)
    actions = lifecycle.desk_actions(ticket, site_now(site.timezone), access_window(ticket, locations),
                                     early_arrival(db), hold.status if hold else None)
    body = {**body, "accountId": ticket.account_id, "badgeNumber": ticket.badge_number or "",
            "_in": ticket.checked_in_at, "_out": ticket.checked_out_at,
            "identityCheck": None if ticket.identity_checked_at is None else {
                "type": ticket.identity_type, "issuingCountry": ticket.identity_country or "",
                "numberLast4": ticket.identity_last4 or "", "expiryDate": fmt_date(ticket.identity_expiry),
                "checkedAt": site_text(ticket.identity_checked_at, site.timezone)},
            "_hold": watchlist.present_hold(hold),
            "escortConfirmed": ticket.escort_confirmed_at is not None,
            "escortBadgeNumber": ticket.escort_badge_number or "",
            "preCheckIn": None if ticket.rules_accepted_at is None else {
                "rulesVersion": ticket.rules_version, "name": ticket.rules_accepted_name or "",
                "acceptedAt": site_text(ticket.rules_accepted_at, site.timezone)},
            "rulesToAccept": await _rules_to_accept(db, site, ticket),
            "requireIdentityCheck": site.require_identity_check,
            "requireEscortConfirmation": site.require_escort_confirmation}
    return desk_facts(body, site.timezone, utcnow(), overstay_grace(db)), actions, site.timezone


async def _rules_to_accept(db: Database, site: Site, ticket: WorkOrder) -> dict | None:
    """The site's rules the desk must have accepted at arrival (the site requires it, not yet done)."""
    if not site.require_pre_check_in:
        return None
    async with db.read() as session:
        rules = await current_rules(session, site.code)
    if rules is None or ticket.rules_version == rules.version:
        return None
    return {"version": rules.version, "markdown": rules.markdown}


def _result(ticket: WorkOrder) -> dict:
    return {"ticketId": ticket.id, "ticketStatus": ticket.status, "badgeNumber": ticket.badge_number or ""}


def early_arrival(db: Database) -> timedelta:
    return timedelta(minutes=db.settings.early_arrival_minutes)


def check_badge_number(badge_number: str) -> str:
    if not 1 <= len(badge_number) <= BADGE_NUMBER_MAX or not badge_number.strip() or not badge_number.isprintable():
        raise BadRequest(f"badgeNumber must be 1-{BADGE_NUMBER_MAX} printable characters, not blank.",
                         code="CONSTRAINT_VIOLATION")
    return badge_number


async def check_in(db: Database, op: Operator, ticket_id: str, badge_number: str,
                   seen: Arrival | None = None) -> dict:
    """Approved -> In Progress; again on In Progress for standard badges (returned every evening).
    Only inside the access window, in the site's timezone, and with what the site requires seen
    (identity document, escort: `facility_access/arrival.py`)."""
    check_badge_number(badge_number)
    await screen_before_check_in(db, op, [ticket_id])
    async with db.write() as session:
        return await check_in_in(session, db, op, ticket_id, badge_number, seen)


async def screen_before_check_in(db: Database, op: Operator, ticket_ids: list[str]) -> None:
    """Screen each visitor again against the list as it is now (SPEC §14), in a transaction of its own:
    a hit's hold, mail and webhook stand even though the check-in it stops is refused. Read first:
    the write transaction is opened only for a visitor the list names (most check-ins: none)."""
    async with db.read() as session:
        named = []
        for ticket_id in ticket_ids:
            found = await repository.ticket_at_sites(session, op.sites, ticket_id)
            if found is not None and lifecycle.target_of(found[0].status, Action.CHECK_IN) is not None and \
                    await watchlist.would_hit(session, found[0], site_today(found[1].timezone)):
                named.append(ticket_id)
    if not named:
        return
    async with db.write() as session:
        for ticket_id in named:
            found = await repository.ticket_at_sites(session, op.sites, ticket_id)
            if found is not None and lifecycle.target_of(found[0].status, Action.CHECK_IN) is not None:
                await watchlist.screen(session, found[0], site_today(found[1].timezone), "check-in")


async def check_in_in(session: AsyncSession, db: Database, op: Operator, ticket_id: str, badge_number: str,
                      seen: Arrival | None = None) -> dict:
    """`check_in` in the caller's transaction (a group checks in together, or not at all)."""
    seen = seen or Arrival()
    ticket, site = await _ticket(session, op, ticket_id)
    hold = await holds.hold_of(session, ticket.id)
    lifecycle.ensure_not_held(ticket.id, hold.status if hold else None)
    window = access_window(ticket, await tickets.ticket_locations(session, ticket.id))
    lifecycle.ensure_can_check_in(ticket, site_now(site.timezone), window, f"{site.code}, {site.timezone}",
                                  early_arrival(db))
    rules = await current_rules(session, site.code) if site.require_pre_check_in else None
    ensure_arrival(ticket, seen, require_identity=site.require_identity_check,
                   require_escort=site.require_escort_confirmation, site_today=site_today(site.timezone),
                   rules_version=rules.version if rules is not None else None)
    now = utcnow()
    accepted_here = {}
    if rules is not None and ticket.rules_version != rules.version:  # accepted at the desk's tablet
        if not names_match(seen.rules_accepted_name or "", f"{ticket.visitor_first_name} {ticket.visitor_last_name}"):
            raise BadRequest(f"rulesAcceptedName must be the visitor's full name as the request names them "
                             f"({ticket.visitor_first_name} {ticket.visitor_last_name}).", code="NAME_MISMATCH")
        accepted_here = {"rules_version": rules.version, "rules_accepted_at": now, "rules_accepted_ip": "desk",
                         "rules_accepted_name": (seen.rules_accepted_name or "").strip()[:120]}
    await lifecycle.apply(session, ticket, Action.CHECK_IN, actor=op.display_name, actor_user_id=op.user_id,
                          note=f"badge {badge_number}", now=now,
                          changes={"badge_number": badge_number, **recorded(ticket, seen, now), **accepted_here})
    if accepted_here and rules is not None:
        await events.record(session, "visit.pre_checked_in", object_id=ticket.id, account_id=ticket.account_id,
                            site_code=ticket.site_code, at=now, data={"rulesVersion": rules.version,
                                                                      "where": "desk"})
    if seen.document is not None:  # that a check was done and its kind; never the number
        await events.record(session, "access_ticket.identity_checked", object_id=ticket.id,
                            account_id=ticket.account_id, site_code=ticket.site_code, at=now,
                            data={"documentType": seen.document.type, "nameMatches": bool(seen.name_matches),
                                  "escortPresent": seen.escort_present, "requestType": ticket.request_type})
    if seen.escort_present and ticket.escorted:  # SPEC §14: the named escort was there
        await events.record(session, "access_ticket.escort_confirmed", object_id=ticket.id,
                            account_id=ticket.account_id, site_code=ticket.site_code, at=now,
                            data={"escort": f"{ticket.escort_first_name} {ticket.escort_last_name}".strip(),
                                  "escortBadgeNumber": seen.escort_badge_number or "",
                                  "requestType": ticket.request_type})
    await badges.checked_in(session, ticket, badge_number, ticket.updated_at)
    return _result(ticket)


async def check_out(db: Database, op: Operator, ticket_id: str) -> dict:
    """Before the badge end date (site time) the ticket stays In Progress; on or after it, Completed."""
    async with db.write() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        await lifecycle.apply(session, ticket, lifecycle.check_out_action(ticket, site_today(site.timezone)),
                              actor=op.display_name, actor_user_id=op.user_id)
    return _result(ticket)


async def complete(db: Database, op: Operator, ticket_id: str) -> dict:
    async with db.write() as session:
        ticket, site = await _ticket(session, op, ticket_id)
        window = access_window(ticket, await tickets.ticket_locations(session, ticket.id))
        lifecycle.ensure_can_complete(ticket, site_now(site.timezone), window)
        await lifecycle.apply(session, ticket, Action.COMPLETE, actor=op.display_name, actor_user_id=op.user_id)
    return _result(ticket)


async def comment(db: Database, op: Operator, ticket_id: str, text: str) -> dict:
    async with db.write() as session:
        ticket, _site = await _ticket(session, op, ticket_id, share_lock=True)
        return await add_comment(session, ticket, text, op.display_name, op.user_id)
