"""What the desk must see before a visitor goes in (SPEC §14, §17), beside the lifecycle's check-in
window: the identity document (never its whole number) and that the name matches, where the site
requires it; the named escort, for an escorted visitor, where the site requires it. A missing
answer is a 400 naming it; a wrong one (an expired document, a name that does not match, no escort)
refuses the check-in with a 409 saying why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.errors import Conflict, ErrorDetail, ValidationFailed


@dataclass(frozen=True)
class Arrival:
    document: Any = None  # .type, .issuingCountry, .numberLast4, .expiryDate
    name_matches: bool | None = None
    escort_present: bool | None = None
    escort_badge_number: str | None = None
    rules_accepted_name: str | None = None  # typed at the desk's tablet, where the site requires it


def ensure_arrival(ticket: WorkOrder, arrival: Arrival, *, require_identity: bool, require_escort: bool,
                   site_today: date, rules_version: int | None = None) -> None:
    """`rules_version`: the site requires its rules accepted and this is their current version."""
    missing = []
    if rules_version is not None and ticket.rules_version != rules_version and not arrival.rules_accepted_name:
        missing.append(("rulesAcceptedName", f"is mandatory at this site: the visitor has not accepted its rules "
                                             f"(version {rules_version}); they type their full name to accept them"))
    if require_identity and arrival.document is None:
        missing.append(("identityDocument", "is mandatory at this site: record the visitor's identity document "
                                            "(type, issuing country, last 4 characters, expiry date)"))
    if require_identity and arrival.name_matches is None:
        missing.append(("nameMatches", "is mandatory at this site: confirm the document's name matches the request"))
    if require_escort and ticket.escorted and arrival.escort_present is None:
        missing.append(("escortPresent", "is mandatory for an escorted visitor at this site: confirm the escort "
                                         f"{ticket.escort_first_name} {ticket.escort_last_name} is here"))
    if missing:
        raise ValidationFailed([ErrorDetail(field=f, code="MISSING_FIELD", message=f"Payload '{f}' {why}.")
                                for f, why in missing])
    if arrival.document is not None and arrival.document.expiryDate < site_today:
        raise Conflict(f"Work order {ticket.id}: the identity document expired on {arrival.document.expiryDate}; "
                       "an expired document cannot admit anyone.", code="DOCUMENT_EXPIRED")
    if arrival.name_matches is False:
        raise Conflict(f"Work order {ticket.id}: the name on the document does not match the request's visitor "
                       f"({ticket.visitor_first_name} {ticket.visitor_last_name}).", code="NAME_MISMATCH")
    if ticket.escorted and arrival.escort_present is False:
        raise Conflict(f"Work order {ticket.id}: the escorted visitor's escort ({ticket.escort_first_name} "
                       f"{ticket.escort_last_name}) is not present.", code="ESCORT_NOT_PRESENT")


def recorded(ticket: WorkOrder, arrival: Arrival, now) -> dict:
    """The columns a check-in writes of its arrival checks."""
    out: dict = {}
    doc = arrival.document
    if doc is not None:
        out.update(identity_type=doc.type, identity_country=doc.issuingCountry, identity_last4=doc.numberLast4,
                   identity_expiry=doc.expiryDate, identity_checked_at=now)
    if ticket.escorted and arrival.escort_present:
        out.update(escort_confirmed_at=now, escort_badge_number=arrival.escort_badge_number or None)
    return out


def names_match(typed: str, expected: str) -> bool:
    """A typed full name against the request's: case, accents and spacing aside."""
    import unicodedata

    def key(value: str) -> str:
        plain = unicodedata.normalize("NFKD", value)
        return " ".join("".join(ch for ch in plain if not unicodedata.combining(ch)).casefold().split())

    return bool(typed.strip()) and key(typed) == key(expected)
