"""The ticket status state machine: every status change in Gatehouse goes through `apply`.

It validates the move, writes it with a conditional UPDATE (so two processes, or the periodic
job racing a user, can never both move the same ticket), keeps the list counters in step, and
records who/when/from/to."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from types import SimpleNamespace
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events import service as events
from gatehouse.events.service import Recorded
from gatehouse.facility_access.counts import CountDeltas, bump_count, pending_counts  # noqa: F401 - the lifecycle's
from gatehouse.facility_access.holders import (  # noqa: F401 - the lifecycle's, kept apart for size
    NO_EXPIRY,
    HolderStatus,
    holder_status,
    inactive_badge_due,
)
from gatehouse.facility_access.models import TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.kit.db import affected, dialect_of, utcnow
from gatehouse.kit.errors import Conflict


class Status(StrEnum):
    PENDING = "Pending Approval"
    APPROVED = "Approved"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    DENIED = "Approval Denied"
    CANCELLED = "Cancelled"


FINAL = frozenset({Status.COMPLETED, Status.DENIED, Status.CANCELLED})
# Statuses in which a ticket may still be edited, commented on or given attachments.
OPEN = frozenset(Status) - FINAL
# Statuses in which the visitor holds a pass (it was mailed on approval): a cancellation voids it.
PASS_ISSUED = frozenset({Status.APPROVED, Status.IN_PROGRESS})


def is_open(status: str) -> bool:
    return status in OPEN


def can_decide(status: str) -> bool:
    """Whether an approver may still approve or deny."""
    return target_of(status, Action.APPROVE) is not None
# What the desk's roster shows unless asked for a status: visitors it can expect or has seen.
# The desk's roster, grouped: who is expected, who is on site, who is done.
ROSTER_GROUPS = (("expected", "Expected", (Status.APPROVED, Status.PENDING)),
                 ("on_site", "On site", (Status.IN_PROGRESS,)), ("done", "Done", (Status.COMPLETED,)))
ROSTER_DEFAULT = [Status.PENDING.value, Status.APPROVED.value, Status.IN_PROGRESS.value, Status.COMPLETED.value]


class Action(StrEnum):
    CREATE = "create"
    APPROVE = "approve"
    DENY = "deny"
    CHECK_IN = "check-in"
    CHECK_OUT = "check-out"  # stays In Progress before the badge end date
    CHECK_OUT_FINAL = "check-out-final"  # on/after the badge end date: Completed
    COMPLETE = "complete"
    CANCEL = "cancel"
    EXPIRE = "expire"  # the periodic job, after the badge end date
    CARRY_OUT = "carry-out"  # a terminate work order, its effect applied (SPEC §13)
    DEACTIVATE = "deactivate"  # a permanent badge unused for GATEHOUSE_BADGE_INACTIVITY_DAYS
    SECURITY_DENY = "security-deny"  # a watchlist hold upheld (SPEC §14): denied, whatever was approved


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.PENDING, Action.APPROVE): Status.APPROVED,
    (Status.PENDING, Action.DENY): Status.DENIED,
    (Status.APPROVED, Action.CHECK_IN): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.CHECK_IN): Status.IN_PROGRESS,  # standard badges check in daily
    (Status.IN_PROGRESS, Action.CHECK_OUT): Status.IN_PROGRESS,
    (Status.IN_PROGRESS, Action.CHECK_OUT_FINAL): Status.COMPLETED,
    (Status.APPROVED, Action.COMPLETE): Status.COMPLETED,
    (Status.IN_PROGRESS, Action.COMPLETE): Status.COMPLETED,
    (Status.PENDING, Action.CANCEL): Status.CANCELLED,
    (Status.APPROVED, Action.CANCEL): Status.CANCELLED,
    (Status.IN_PROGRESS, Action.CANCEL): Status.CANCELLED,
    (Status.APPROVED, Action.EXPIRE): Status.COMPLETED,
    (Status.IN_PROGRESS, Action.EXPIRE): Status.COMPLETED,
    (Status.PENDING, Action.EXPIRE): Status.CANCELLED,
    (Status.APPROVED, Action.CARRY_OUT): Status.COMPLETED,
    (Status.APPROVED, Action.DEACTIVATE): Status.COMPLETED,
    (Status.IN_PROGRESS, Action.DEACTIVATE): Status.COMPLETED,
    (Status.PENDING, Action.SECURITY_DENY): Status.DENIED,
    (Status.APPROVED, Action.SECURITY_DENY): Status.DENIED,
}

# The audit event of each move, and the reason a completion or cancellation records (SPEC §9:
# "completed by an operator, by a late check-out or by the end-of-badge job: data.reason says which").
EVENT_OF: dict[tuple[Action, Status], tuple[str, str]] = {
    (Action.APPROVE, Status.APPROVED): ("access_ticket.approved", ""),
    (Action.DENY, Status.DENIED): ("access_ticket.denied", ""),
    (Action.CANCEL, Status.CANCELLED): ("access_ticket.cancelled", ""),
    (Action.CHECK_IN, Status.IN_PROGRESS): ("access_ticket.checked_in", ""),
    (Action.CHECK_OUT, Status.IN_PROGRESS): ("access_ticket.checked_out", ""),
    (Action.CHECK_OUT_FINAL, Status.COMPLETED): ("access_ticket.completed", "check_out"),
    (Action.COMPLETE, Status.COMPLETED): ("access_ticket.completed", "operator"),
    (Action.EXPIRE, Status.COMPLETED): ("access_ticket.completed", "end_of_badge"),
    (Action.EXPIRE, Status.CANCELLED): ("access_ticket.cancelled", "end_of_badge"),
    (Action.CARRY_OUT, Status.COMPLETED): ("access_ticket.completed", "terminated"),
    (Action.DEACTIVATE, Status.COMPLETED): ("access_ticket.badge_deactivated", "badge_inactive"),
    (Action.SECURITY_DENY, Status.DENIED): ("access_ticket.denied", ""),
}

_VERBS = {
    Action.APPROVE: "approved", Action.DENY: "denied", Action.CHECK_IN: "checked in",
    Action.CHECK_OUT: "checked out", Action.CHECK_OUT_FINAL: "checked out", Action.COMPLETE: "completed",
    Action.CANCEL: "cancelled", Action.EXPIRE: "expired", Action.CARRY_OUT: "carried out",
    Action.DEACTIVATE: "deactivated", Action.SECURITY_DENY: "denied",
}

# A watchlist hold (SPEC §14): what the customer reads when security upholds it; nothing else shows
SECURITY_DENIAL = "Denied by site security"
HOLD_OPEN, HOLD_CLEARED, HOLD_UPHELD = "open", "cleared", "upheld"


def ensure_not_held(ticket_id: str, hold_status: str | None) -> None:
    """Check-in waits for a watchlist operator while a hold is open (an upheld one denied the ticket)."""
    if hold_status in (HOLD_OPEN, HOLD_UPHELD):
        raise Conflict(f"Work order {ticket_id} is on a security hold: call site security; check-in waits "
                       f"until a watchlist operator clears it.", code="SECURITY_HOLD")


def ensure_hold_open(ticket_id: str, hold_status: str | None) -> None:
    if hold_status != HOLD_OPEN:
        raise Conflict(f"Work order {ticket_id} has no open security hold"
                       + (f" (it was {hold_status})." if hold_status else "."), code="NO_OPEN_HOLD")


def ensure_open(ticket: WorkOrder, takes: str) -> None:
    """The one "is the ticket still open?" guard: edits, comments and attachments all ask here.
    Callers hold the ticket row (share lock or SQLite's write lock) until they commit."""
    if ticket.status not in OPEN:
        raise Conflict(f"Work order {ticket.id} is '{ticket.status}' and takes no more {takes}.",
                       code="INVALID_TICKET_STATUS")


def target_of(current: str, action: Action) -> Status | None:
    return TRANSITIONS.get((Status(current), action))


def conflict(ticket_id: str, current: str, action: Action) -> Conflict:
    return Conflict(
        f"Work order {ticket_id} is '{current}' and cannot be {_VERBS.get(action, action.value)}.",
        code="INVALID_TICKET_STATUS",
    )


async def apply(
    session: AsyncSession,
    ticket: WorkOrder,
    action: Action,
    *,
    actor: str,
    actor_user_id: int | None,
    note: str = "",
    now: datetime | None = None,
    changes: dict | None = None,
    counts: CountDeltas | None = None,
) -> Status:
    """Move `ticket` by `action` or raise 409. `changes` are extra column values written in the
    same conditional UPDATE (e.g. cancel_reason, badge_number). `counts`, for batches, collects
    the counter changes so the caller writes them once, in key order, with `counts.flush`."""
    current = Status(ticket.status)
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise conflict(ticket.id, current, action)
    if now is None:
        # Wait for whatever holds the row (a comment or upload committing on PostgreSQL), THEN take
        # the time: closedOn is never before anything that was added while the ticket was open.
        if dialect_of(session) == "postgresql":
            await session.execute(select(WorkOrder.id).where(WorkOrder.id == ticket.id).with_for_update())
        now = utcnow()
    values = {"status": target.value, "updated_at": now, "modified_by": actor, **desk_times(action, now),
              **(changes or {})}
    if target in FINAL:
        values["closed_at"] = now
    result = await session.execute(
        update(WorkOrder).where(WorkOrder.id == ticket.id, WorkOrder.status == current.value).values(**values)
        .execution_options(synchronize_session=False)
    )
    if affected(result) != 1:
        # Someone else moved it first: report against what it is now.
        raise Conflict(f"Work order {ticket.id} was changed concurrently; retry.", code="CONCURRENT_UPDATE")
    for key, value in values.items():
        setattr(ticket, key, value)
    if target != current:
        deltas = counts if counts is not None else pending_counts(session)
        deltas.add(ticket, current.value, -1)
        deltas.add(ticket, target.value, +1)
    session.add(TicketEvent(work_order_id=ticket.id, at=now, actor=actor, actor_user_id=actor_user_id,
                            action=action.value, from_status=current.value, to_status=target.value, note=note))
    event_type, reason = EVENT_OF[(action, target)]
    data = {"from": current.value, "to": target.value, "requestType": _kind(ticket)}
    if reason or note:
        data["reason"] = reason or note
    if action == Action.CHECK_IN and ticket.badge_number:
        data["badgeNumber"] = ticket.badge_number
    await events.record(session, event_type, object_id=ticket.id, account_id=ticket.account_id,
                        site_code=ticket.site_code, data=data, at=now)
    return target


def creation(ticket: WorkOrder, *, actor_user_id: int | None) -> tuple[dict, Recorded]:
    """The creation is the first event of every ticket: its history row and its trail event."""
    history = {"work_order_id": ticket.id, "at": ticket.created_at, "actor": ticket.requester,
               "actor_user_id": actor_user_id, "action": Action.CREATE.value, "from_status": None,
               "to_status": ticket.status, "note": ""}
    event = events.new_event("access_ticket.created", object_id=ticket.id, account_id=ticket.account_id,
                             site_code=ticket.site_code, data={"to": ticket.status, "requestType": _kind(ticket)},
                             at=ticket.created_at)
    return history, event


async def record_created(session: AsyncSession, ticket: WorkOrder, *, actor_user_id: int | None) -> None:
    """`creation` through the ORM session; counters include the ticket from the start."""
    await session.flush()  # the work order's row first: its history and trail rows point at it
    pending_counts(session).add(ticket, ticket.status, +1)
    history, event = creation(ticket, actor_user_id=actor_user_id)
    session.add(TicketEvent(**history))
    await events.record_event(session, event)


def desk_times(action: Action, now: datetime) -> dict[str, datetime | None]:
    """The desk's times a move sets (SPEC §14): a check-in starts a stay, a check-out ends it."""
    if action == Action.CHECK_IN:
        return {"checked_in_at": now, "checked_out_at": None, "overstay_reported_at": None}
    if action in (Action.CHECK_OUT, Action.CHECK_OUT_FINAL):
        return {"checked_out_at": now}
    return {}


ON_SITE_STATUS = Status.IN_PROGRESS.value  # the roll call's query says is_on_site in SQL


def is_on_site(ticket: WorkOrder | SimpleNamespace) -> bool:
    """Checked in and not out since: who the roll call lists (operators/roll_call.ON_SITE in SQL)."""
    return (ticket.status == Status.IN_PROGRESS and ticket.checked_in_at is not None
            and (ticket.checked_out_at is None or ticket.checked_out_at < ticket.checked_in_at))


def is_no_show(ticket: WorkOrder | SimpleNamespace, site_now: datetime, window: Window) -> bool:
    """Approved, its window over, never checked in (SPEC §14); its status still follows §3."""
    return ticket.status == Status.APPROVED and ticket.checked_in_at is None and site_now > window[1]


def is_overstayed(ticket: WorkOrder | SimpleNamespace, site_now: datetime, window: Window, grace: timedelta) -> bool:
    """On site past the day's window end (its end time on today's date) by more than the grace."""
    if not is_on_site(ticket):
        return False
    day_end = datetime.combine(min(site_now.date(), window[1].date()), window[1].time())
    return site_now > day_end + grace


def _kind(ticket: WorkOrder) -> str:
    """An event's data.requestType (SPEC §13): which kind of request the ticket is."""
    return getattr(ticket, "request_type", None) or "Visitor Access"


def initial_status(*, requester_approves: bool, auto_approve: bool) -> Status:
    """A new ticket waits for a customer approver, unless its requester is one or its account
    approves automatically."""
    return Status.APPROVED if requester_approves or auto_approve else Status.PENDING


def ensure_approvable(ticket: WorkOrder, site_today: date) -> None:
    """Approve is refused once the badge end date (site time) has passed: nothing left to approve."""
    if ticket.status == Status.PENDING and site_today > ticket.badge_end:
        raise Conflict(f"Work order {ticket.id} cannot be approved: its badge end date {ticket.badge_end} "
                       "has passed.", code="BADGE_EXPIRED")


Window = tuple[datetime, datetime]  # a ticket's access window, naive site-local date-times


def access_window(ticket: WorkOrder | SimpleNamespace, locs: Collection[WorkOrderLocation | SimpleNamespace]) -> Window:
    """From the earliest location start (date and time) to the latest location end, in site time
    (SPEC §3: one window per location; the ticket's is their union). Without locations, the badge
    dates from 00:00 to 23:59. A permanent badge's locations count once approved."""
    locs = [loc for loc in locs if getattr(loc, "decision", None) in (None, Decision.APPROVED)]
    if not locs:
        return datetime.combine(ticket.badge_start, time(0, 0)), datetime.combine(ticket.badge_end, time(23, 59))
    return (min(datetime.combine(loc.access_start, _time(getattr(loc, "access_start_time", None), time(0, 0)))
                for loc in locs),
            max(datetime.combine(loc.access_end, _time(getattr(loc, "access_end_time", None), time(23, 59)))
                for loc in locs))


def _time(value: time | str | None, default: time) -> time:
    if value is None:
        return default
    return value if isinstance(value, time) else time.fromisoformat(str(value)[:8])


def ensure_can_check_in(ticket: WorkOrder, site_now: datetime, window: Window, zone_name: str,
                        early: timedelta = timedelta(minutes=60)) -> None:
    """Check-in: Approved, or again In Progress for a standard badge (returned every evening);
    from `early` (GATEHOUSE_EARLY_ARRIVAL_MINUTES) before the window's start until its end, in
    site time."""
    if target_of(ticket.status, Action.CHECK_IN) is None:
        raise conflict(ticket.id, ticket.status, Action.CHECK_IN)
    if ticket.status == Status.IN_PROGRESS and ticket.extended_badge:
        raise Conflict(f"Work order {ticket.id} has an extended badge that stays active: the visitor is "
                       "already checked in.", code="ALREADY_CHECKED_IN")
    start, end = window
    if not start - early <= site_now <= end:
        zone = f" ({zone_name})" if zone_name else ""
        raise Conflict(f"Work order {ticket.id} gives access from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
                       f"{zone}, check-in from {early.total_seconds() / 60:.0f} minutes before; it is now "
                       f"{site_now:%Y-%m-%d %H:%M} there.", code="OUTSIDE_ACCESS_WINDOW")


def ensure_can_complete(ticket: WorkOrder, site_now: datetime, window: Window) -> None:
    """An operator completes a visit under way (In Progress), or closes an Approved one that was
    never checked in once its window has begun (a no-show); never a visit still to come."""
    if target_of(ticket.status, Action.COMPLETE) is None:
        raise conflict(ticket.id, ticket.status, Action.COMPLETE)
    if ticket.status == Status.APPROVED and site_now.date() < window[0].date():
        raise Conflict(f"Work order {ticket.id} starts on {window[0]:%Y-%m-%d}: a visit still to come cannot be "
                       "completed (cancel it instead).", code="NOT_STARTED")


def desk_actions(ticket: WorkOrder, site_now: datetime, window: Window,
                 early: timedelta = timedelta(minutes=60), hold: str | None = None) -> list[str]:
    """What the desk offers for a ticket now: exactly what the rules above would accept."""
    def allowed(guard: Callable[[], None]) -> bool:
        try:
            guard()
        except Conflict:
            return False
        return True

    def check_in() -> None:
        ensure_not_held(ticket.id, hold)
        ensure_can_check_in(ticket, site_now, window, "", early)

    offered = {
        "check-in": allowed(check_in),
        "check-out": target_of(ticket.status, Action.CHECK_OUT) is not None,
        "complete": allowed(lambda: ensure_can_complete(ticket, site_now, window)),
        "comment": ticket.status in OPEN,
    }
    return [action for action, ok in offered.items() if ok]


def check_out_action(ticket: WorkOrder, site_today: date) -> Action:
    """Before the badge end date the visitor checks out for the day (In Progress stays); on or
    after it, the check-out completes the ticket."""
    return Action.CHECK_OUT_FINAL if site_today >= ticket.badge_end else Action.CHECK_OUT


def end_of_badge_due(ticket: WorkOrder, site_today: date) -> bool:
    """The end-of-badge job acts at 00:00 site time after the badge end date, on open tickets
    (Approved / In Progress -> Completed, Pending Approval -> Cancelled, by EXPIRE)."""
    return ticket.status in OPEN and site_today > ticket.badge_end


EXPIRE_CANCEL_REASON = "Request no longer needed"


# --- visitor terminate (SPEC §13) ------------------------------------------------------------------
TERMINATE_CATEGORY = "Terminate All Visitor Access"
TERMINATE_BADGE_CATEGORY = "Terminate All Access"  # a permanent badge's


def is_termination(ticket: WorkOrder) -> bool:
    """A terminate work order: approving it carries it out (and gives nobody a pass)."""
    return getattr(ticket, "ticket_category", "") in (TERMINATE_CATEGORY, TERMINATE_BADGE_CATEGORY)


def issues_pass(ticket: WorkOrder) -> bool:
    """Whether approving the ticket gives its visitor a pass: not a terminate work order."""
    return not is_termination(ticket)


def carried_out_at_once(status: Status) -> bool:
    """A terminate work order acts when it is approved: at once, if it was created approved."""
    return status == Status.APPROVED


class Termination(StrEnum):
    KEEP = "keep"      # ends on or before the day: nothing to do
    CUT = "cut"        # its later days are cut at the day
    CANCEL = "cancel"  # it would start after the day: cancelled


def termination(ticket: WorkOrder, end: date, locs: Collection[WorkOrderLocation]) -> Termination:
    """What terminating a visitor on `end` does to one of their tickets: an open visitor ticket ends
    that day; one that has no location left before it is cancelled; other tickets are left alone."""
    if ticket.status not in OPEN or not issues_pass(ticket):
        return Termination.KEEP
    if ticket.badge_start > end or (locs and all(loc.access_start > end for loc in locs)):
        return Termination.CANCEL
    return Termination.CUT if ticket.badge_end > end else Termination.KEEP


def cut_location(loc: WorkOrderLocation, end: date) -> str:
    """'drop' (starts after the day), 'cut' (ends after it) or 'keep'."""
    if loc.access_start > end:
        return "drop"
    return "cut" if loc.access_end > end else "keep"


# --- permanent badges: approval per location (SPEC §13) ------------------------------------------
class Decision(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


# how a location's decision reads on the wire (the presenter capitalises the Decision)
LocationApproval = Literal["Pending", "Approved", "Denied"]


def approver_permission(ticket: WorkOrder | SimpleNamespace) -> str:
    """Who decides a ticket: permanent badge requests their own approvers, everything else visitor
    approvers (the API's check and the "approval needed" mail ask the same)."""
    return ("permanent-badge:approve" if getattr(ticket, "request_type", "") == "Permanent Badge"
            else "visitor-access:approve")


def status_of_decisions(decisions: Collection[str]) -> Status:
    """A permanent badge request's status from its locations' decisions: any pending keeps it
    pending; otherwise approved if any location was approved, denied if none was."""
    if not decisions or Decision.PENDING in decisions:
        return Status.PENDING
    return Status.APPROVED if Decision.APPROVED in decisions else Status.DENIED


def decide_action(current: Status, target: Status) -> Action | None:
    """The move that takes a pending request to what its decisions say (None: it stays pending)."""
    if current != Status.PENDING or target == Status.PENDING:
        return None
    return Action.APPROVE if target == Status.APPROVED else Action.DENY
