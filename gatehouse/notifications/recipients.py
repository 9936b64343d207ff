"""Who gets which mail for an event (SPEC §10's table), deduplicated case-insensitively: nobody
gets two mails for one event. Pure: the inputs are plain values, so the table is unit-tested."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gatehouse.events.types import EventType
from gatehouse.facility_access.lifecycle import PASS_ISSUED, Status

# When one address qualifies twice for an event, the more useful mail wins (a visitor who is also
# on the notification list gets the pass, not the plain "approved" notice).
PRIORITY = ["visitor_pass", "visitor_cancelled", "approval_needed", "denied", "request_received", "approved",
            "cancelled", "checked_in", "operator_comment", "badge_deactivated", "overstayed",
            "watchlist_hit"]



@dataclass(frozen=True)
class TicketFacts:
    status: str
    notification_list: str  # "a@x.com,b@y.com"
    visitor_email: str
    requester_email: str | None
    host_email: str = ""  # told on arrival (SPEC §14)


def split_list(value: str) -> list[str]:
    return [a.strip() for a in (value or "").split(",") if a.strip()]


Mails = list[tuple[str, str]]


def _to_list(t: TicketFacts, kind: str) -> Mails:
    return [(a, kind) for a in split_list(t.notification_list)]


def _created(data: dict, t: TicketFacts, approvers: Iterable[str], actor_kind: str) -> Mails:
    if data.get("to") == Status.PENDING:
        return _to_list(t, "request_received") + [(a, "approval_needed") for a in approvers if a]
    if data.get("to") == Status.APPROVED:
        return [(t.visitor_email, "visitor_pass")] + _to_list(t, "approved")
    return []


def _cancelled(data: dict, t: TicketFacts, approvers: Iterable[str], actor_kind: str) -> Mails:
    # a visitor whose pass was mailed (approved or on site) hears that it is void
    return _to_list(t, "cancelled") + ([(t.visitor_email, "visitor_cancelled")] if data.get("from") in PASS_ISSUED
                                       else [])


# SPEC §10's table: for each event type that mails, who gets which mail (the kinds name the
# templates and subjects in render.py). events/types.MAILED lists these keys; a test holds them equal.
MAIL_TABLE: dict[str, Callable[[dict, TicketFacts, Iterable[str], str], Mails]] = {
    EventType.TICKET_CREATED: _created,
    EventType.TICKET_APPROVED: lambda data, t, approvers, actor: [(t.visitor_email, "visitor_pass")]
    + _to_list(t, "approved"),
    EventType.TICKET_DENIED: lambda data, t, approvers, actor: _to_list(t, "denied")
    + ([(t.requester_email, "denied")] if t.requester_email else []),
    EventType.TICKET_CANCELLED: _cancelled,
    EventType.TICKET_CHECKED_IN: lambda data, t, approvers, actor: _to_list(t, "checked_in")
    + ([(t.host_email, "checked_in")] if t.host_email else []),
    EventType.COMMENT_CREATED: lambda data, t, approvers, actor: _to_list(t, "operator_comment")
    if actor == "operator" else [],
    # a permanent badge unused too long: its holder and the notification list (SPEC §13)
    EventType.BADGE_DEACTIVATED: lambda data, t, approvers, actor: [(t.visitor_email, "badge_deactivated")]
    + _to_list(t, "badge_deactivated"),
    # still on site after the day's window (SPEC §14): the list and the site's operators (`approvers`
    # carries the operators' addresses for this event)
    EventType.TICKET_OVERSTAYED: lambda data, t, approvers, actor: _to_list(t, "overstayed")
    + [(a, "overstayed") for a in approvers if a],
    # a visitor matched the watchlist (SPEC §14): the site's operators only (`approvers` carries
    # their addresses); never the customer's list, visitor or host
    EventType.WATCHLIST_HIT: lambda data, t, approvers, actor: [(a, "watchlist_hit") for a in approvers if a],
}


def mails_for(event_type: str, data: dict, ticket: TicketFacts, *, approver_emails: Iterable[str] = (),
              actor_kind: str = "") -> list[tuple[str, str]]:
    """[(address, kind)] for one event, deduplicated: one mail per address, the most useful kind."""
    rule = MAIL_TABLE.get(event_type)
    wanted = rule(data, ticket, approver_emails, actor_kind) if rule is not None else []
    best: dict[str, tuple[str, str]] = {}
    for address, kind in wanted:
        if not address:
            continue
        key = address.lower()
        if key not in best or PRIORITY.index(kind) < PRIORITY.index(best[key][1]):
            best[key] = (address, kind)
    return list(best.values())
