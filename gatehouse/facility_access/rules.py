"""The rules of a create (SPEC §3), checked all at once so that every problem of a body is listed:
dates in each site's own today, visitor × site combinations, escorts and badge kinds, granted sites
and locations, notification lists. Pure but for the sites' lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from gatehouse.facility_access.presenter import DEFAULT_END, DEFAULT_START
from gatehouse.facility_access.schemas import AccessRequestIn, is_email
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed
from gatehouse.kit.leanread import LeanReader
from gatehouse.kit.sitetime import earliest_today, site_today
from gatehouse.sites.repository import granted_site_lean

MAX_COMBINATIONS = 10
BADGE_START_MAX_DAYS = 90
BADGE_LENGTH_MAX_DAYS = 365
EXTENDED_BADGE_MAX_DAYS = 30



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




@dataclass(frozen=True)
class Kind:
    """What a request makes (SPEC §13): the work order's requestType and ticketCategory."""

    request_type: str
    category: str


NEW_VISITOR = Kind("Visitor Access", "New Visitor Access")
MODIFY_VISITOR = Kind("Visitor Access", "Modify Visitor Access")
TERMINATE_VISITOR = Kind("Visitor Access", "Terminate All Visitor Access")
POP_POE = Kind("PoP/POE Room Access", "")


NOT_FOUND_CODES = frozenset({"SITE_NOTFOUND", "LOCATION_NOTFOUND"})


def refusal(problems: list[ErrorDetail]) -> Exception:
    """What a create with problems answers: 404 `Resource not found.` when every problem is a site or
    location that does not exist or is not granted (as the real API answers), else 400 listing all."""
    if problems and all(p.code in NOT_FOUND_CODES for p in problems):
        return NotFound("Resource not found.", code="RESOURCE_NOTFOUND", details=problems[:ValidationFailed.MAX_DETAILS])
    return ValidationFailed(problems)


@dataclass
class SiteInfo:
    code: str
    address: str
    timezone: str
    today: date
    locations: dict[str, int]  # visible location name -> id
    pop_poe_rooms: dict[str, int] = field(default_factory=dict)  # the site's PoP/POE rooms, name -> id

    def requestable(self, kind: Kind) -> dict[str, int]:
        """The locations a request of this kind may name: PoP/POE rooms, else the granted ones."""
        return self.pop_poe_rooms if kind.request_type == POP_POE.request_type else self.locations


@dataclass
class Planned:
    request_index: int
    request: AccessRequestIn
    visitor_index: int
    site: SiteInfo
    site_index: int
    emails: str
    kind: Kind = NEW_VISITOR


async def load_sites(reader: LeanReader, account_id: str, codes: set[str], now: datetime) -> dict[str, SiteInfo]:
    out: dict[str, SiteInfo] = {}
    for code in codes:
        site = await granted_site_lean(reader, account_id, code)
        if site is not None:
            out[code] = SiteInfo(code, site.address, site.timezone, site_today(site.timezone, now),
                                  {loc.name: loc.id for loc in site.locations}, site.pop_poe_rooms)
    return out


def validate(requests: Sequence[AccessRequestIn], sites: dict[str, SiteInfo], problems: list[ErrorDetail],
             kind: Kind = NEW_VISITOR) -> list[Planned]:
    plans: list[Planned] = []

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
        if start is None or end is None:
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
            elif extended and start is not None and end is not None and end >= start and (end - start).days > EXTENDED_BADGE_MAX_DAYS:
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
                if loc.location not in info.requestable(kind):
                    add(f"{lp}.location", "LOCATION_NOTFOUND",
                        f"('{loc.location}') is not a PoP/POE room of site {s.site}" if kind == POP_POE else
                        f"('{loc.location}') is not a location of site {s.site} granted to the account")
                a_start, a_end = loc.accessStartDate, loc.accessEndDate
                if start is None or end is None:
                    pass
                elif a_start < start or a_start > end:
                    add(f"{lp}.accessStartDate", "ACCESS_DATE_OUT_OF_RANGE",
                        f"({a_start}) must be within the badge dates {start} to {end}")
                if a_end < a_start:
                    add(f"{lp}.accessEndDate", "INVALID_DATE_RANGE",
                        f"({a_end}) must not be before accessStartDate ({a_start})")
                elif start is not None and end is not None and a_end > end:
                    add(f"{lp}.accessEndDate", "ACCESS_DATE_OUT_OF_RANGE",
                        f"({a_end}) must not be after visitorBadgeEndDate ({end})")
                else:
                    t_start = getattr(loc, "accessStartTime", None) or DEFAULT_START
                    t_end = getattr(loc, "accessEndTime", None) or DEFAULT_END
                    if datetime.combine(a_end, t_end) <= datetime.combine(a_start, t_start):
                        add(f"{lp}.accessEndTime", "INVALID_TIME_RANGE",
                            f"({a_end} {t_end:%H:%M}) must be after the window's start ({a_start} {t_start:%H:%M})")
            for j in range(len(visitors)):
                plans.append(Planned(i, req, j, info, k, emails, kind))
        if not checked_in_a_site and start is not None and start < earliest_today():
            # no valid site to take "today" from: a date before today everywhere on Earth is still wrong
            add(f"{p}.visitorBadgeStartDate", "DATE_IN_PAST",
                f"({start}) must not be before today; it is already past in every time zone")
    # body order: request, then visitor, then site
    plans.sort(key=lambda pl: (pl.request_index, pl.visitor_index, pl.site_index))
    return plans
