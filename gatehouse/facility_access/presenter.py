"""The ticket's wire shape, built once (SPEC §3's detail, the seed's list title): used by the API,
the operator API, the CLI, webhooks, mail and the console."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from types import SimpleNamespace
from typing import Any

from gatehouse.facility_access.lifecycle import NO_EXPIRY
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from gatehouse.kit.wire import fmt_date, fmt_datetime, fmt_time


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


def render_location(loc: WorkOrderLocation | SimpleNamespace) -> dict:
    """A location of a ticket with its window: dates and daily times (SPEC §3; the times are additions
    the real API takes per location); a permanent badge's also its own approval status (§13)."""
    out = {"location": loc.location_name, "accessStartDate": fmt_date(loc.access_start),
           "accessEndDate": fmt_date(loc.access_end),
           "accessStartTime": fmt_time(getattr(loc, "access_start_time", None) or DEFAULT_START),
           "accessEndTime": fmt_time(getattr(loc, "access_end_time", None) or DEFAULT_END)}
    decision = getattr(loc, "decision", None)
    if decision:
        out["approvalStatus"] = decision.capitalize()
    return out


def _sites(ticket: WorkOrder | SimpleNamespace, address: str,
           locations: Sequence[WorkOrderLocation | SimpleNamespace]) -> list[dict]:
    """The detail's `site`: one entry for a visitor ticket; a permanent badge's locations may be at
    several sites, each with its own address (the reads give it with the location)."""
    out: dict[str, dict] = {ticket.site_code: {"site": ticket.site_code, "locations": [], "address": address}}
    for loc in locations:
        code = getattr(loc, "site_code", None) or ticket.site_code
        entry = out.setdefault(code, {"site": code, "locations": [], "address": getattr(loc, "site_address", "")})
        entry["locations"].append(render_location(loc))
    return [entry for entry in out.values() if entry["locations"] or entry["site"] == ticket.site_code]


def _end(day: date | str) -> str:
    text = fmt_date(day)  # a date, or a lean row's text
    return "" if text == NO_EXPIRY.isoformat() else text


DEFAULT_START, DEFAULT_END = time(0, 0), time(23, 59)


def render_ticket(ticket: WorkOrder | SimpleNamespace, address: str,
                  locations: Sequence[WorkOrderLocation | SimpleNamespace], comments: Sequence[Any]) -> dict:
    """A ticket and its locations: ORM objects, or a lean read's rows of them (SimpleNamespace)."""
    return {
        "ticketId": ticket.id, "ticketType": "Security", "ticketStatus": ticket.status,
        "requester": ticket.requester, "ticketCreatedDate": fmt_datetime(ticket.created_at),
        "ticketUpdatedDate": fmt_datetime(ticket.updated_at),
        "requestType": getattr(ticket, "request_type", None) or "Visitor Access",
        "ticketCategory": getattr(ticket, "ticket_category", "New Visitor Access"), "contactFirstName": ticket.visitor_first_name,
        "contactLastName": ticket.visitor_last_name, "contactEmail": ticket.visitor_email,
        "contactPhone": ticket.visitor_phone or "", "representingCompany": ticket.company,
        "badgeStartDate": fmt_date(ticket.badge_start), "badgeEndDate": _end(ticket.badge_end),
        "site": _sites(ticket, address, locations),
        "modifiedBy": ticket.modified_by, "emailNotifications": ticket.email_notifications or "",
        "visitorType": "Escorted visitor" if ticket.escorted else "Unescorted visitor",
        "visitorBadgeType": badge_type(ticket.escorted, ticket.extended_badge),
        "visitorHostFirstName": ticket.host_first_name, "visitorHostLastName": ticket.host_last_name,
        "hostCompany": ticket.host_company, "visitorHostEmail": getattr(ticket, "host_email", "") or "",
        "notes": ticket.notes or "", "contactType": getattr(ticket, "contact_type", "") or ticket.title,
        "escortFirstName": ticket.escort_first_name or "", "escortLastName": ticket.escort_last_name or "",
        "visitorBadgeStartDate": fmt_date(ticket.badge_start), "visitorBadgeEndDate": _end(ticket.badge_end),
        "customerExternalReference": ticket.customer_external_reference or "",
        "workDescription": ticket.notes or "", "description": ticket.title, "bulkRequest": bool(ticket.bulk_request),
        "closedOn": fmt_datetime(ticket.closed_at),
        "comments": [{"comment": c.comment, "commentedBy": c.commented_by,
                      "commentedOn": fmt_datetime(c.created_at)} for c in comments],
    }
