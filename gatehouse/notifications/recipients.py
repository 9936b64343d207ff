"""Who gets which mail for an event (SPEC §10's table), deduplicated case-insensitively: nobody
gets two mails for one event. Pure: the inputs are plain values, so the table is unit-tested."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gatehouse.facility_access.lifecycle import PASS_ISSUED, Status

# When one address qualifies twice for an event, the more useful mail wins (a visitor who is also
# on the notification list gets the pass, not the plain "approved" notice).
PRIORITY = ["visitor_pass", "visitor_cancelled", "approval_needed", "denied", "request_received", "approved",
            "cancelled", "checked_in", "operator_comment"]



@dataclass(frozen=True)
class TicketFacts:
    status: str
    notification_list: str  # "a@x.com,b@y.com"
    visitor_email: str
    requester_email: str | None


def split_list(value: str) -> list[str]:
    return [a.strip() for a in (value or "").split(",") if a.strip()]


def mails_for(event_type: str, data: dict, ticket: TicketFacts, *, approver_emails: Iterable[str] = (),
              actor_kind: str = "") -> list[tuple[str, str]]:
    """[(address, kind)] for one event."""
    wanted: list[tuple[str, str]] = []
    notify = split_list(ticket.notification_list)
    if event_type == "access_ticket.created":
        if data.get("to") == Status.PENDING:
            wanted += [(a, "request_received") for a in notify]
            wanted += [(a, "approval_needed") for a in approver_emails if a]
        elif data.get("to") == Status.APPROVED:
            wanted += [(ticket.visitor_email, "visitor_pass")] + [(a, "approved") for a in notify]
    elif event_type == "access_ticket.approved":
        wanted += [(ticket.visitor_email, "visitor_pass")] + [(a, "approved") for a in notify]
    elif event_type == "access_ticket.denied":
        wanted += [(a, "denied") for a in notify]
        if ticket.requester_email:
            wanted.append((ticket.requester_email, "denied"))
    elif event_type == "access_ticket.cancelled":
        wanted += [(a, "cancelled") for a in notify]
        if data.get("from") in PASS_ISSUED:
            wanted.append((ticket.visitor_email, "visitor_cancelled"))
    elif event_type == "access_ticket.checked_in":
        wanted += [(a, "checked_in") for a in notify]
    elif event_type == "comment.created" and actor_kind == "operator":
        wanted += [(a, "operator_comment") for a in notify]
    best: dict[str, tuple[str, str]] = {}
    for address, kind in wanted:
        if not address:
            continue
        key = address.lower()
        if key not in best or PRIORITY.index(kind) < PRIORITY.index(best[key][1]):
            best[key] = (address, kind)
    return list(best.values())
