"""The watchlist's entries (kept by operators with the `watchlist` role) and the holds a match
raises. Holds are screened for in the change's transaction (fanout.py at create, `screen` at
check-in) and never reach anything a customer reads: their events carry no account."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.kit.context import SYSTEM
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed
from gatehouse.kit.leanread import SessionRows
from gatehouse.kit.wire import fmt_date, fmt_datetime
from gatehouse.watchlist import repository
from gatehouse.watchlist.models import SecurityHold, WatchlistEntry
from gatehouse.watchlist.schemas import EntryIn, EntryPatch
from gatehouse.watchlist.screening import Hit, current_index

IMPORT_MAX_ROWS = 5000
COLUMNS = ("firstName", "lastName", "email", "dateOfBirth", "reason", "site", "expiresOn")


def entry_not_found() -> NotFound:
    return NotFound("The watchlist entry was not found.", code="ENTRY_NOTFOUND")


def present(e: WatchlistEntry) -> dict[str, Any]:
    return {"entryId": e.id, "firstName": e.first_name, "lastName": e.last_name, "email": e.email,
            "dateOfBirth": fmt_date(e.date_of_birth) or None, "reason": e.reason, "site": e.site_code,
            "expiresOn": fmt_date(e.expires_on) or None, "createdBy": e.created_by,
            "createdOn": fmt_datetime(e.created_at)}


def present_hold(h: SecurityHold | None) -> dict[str, Any] | None:
    if h is None:
        return None
    return {"status": h.status, "entryId": h.entry_id, "reason": h.decision_reason or h.reason,
            "matchedOn": h.matched_on}


def _site_ok(sites: Collection[str], site: str | None, field: str = "site") -> None:
    if site is not None and site not in sites:
        raise ValidationFailed([ErrorDetail(field=field, code="SITE_NOTFOUND",
                                            message=f"Payload '{field}' is not one of your sites.")])


async def _changed(session: AsyncSession, e: WatchlistEntry, change: str) -> None:
    await repository.bump_version(session)
    await events.record(session, EventType.WATCHLIST_ENTRY_CHANGED, object_id=e.id, site_code=e.site_code,
                        data={"entryId": e.id, "change": change})


def _new(body: EntryIn, actor: str, now: datetime) -> WatchlistEntry:
    return WatchlistEntry(id="WL" + secrets.token_hex(6).upper(), first_name=body.firstName.strip(),
                          last_name=body.lastName.strip(), email=body.email, date_of_birth=body.dateOfBirth,
                          reason=body.reason.strip(), site_code=body.site, expires_on=body.expiresOn,
                          created_by=actor[:100], created_at=now, updated_at=now)


async def create(db: Database, sites: Collection[str], actor: str, body: EntryIn) -> dict[str, Any]:
    _site_ok(sites, body.site)
    async with db.write() as session:
        e = _new(body, actor, utcnow())
        session.add(e)
        await session.flush()
        await _changed(session, e, "created")
    return present(e)


async def listing(db: Database, sites: Collection[str], *, search: str = "", page: int = 0, size: int = 50
                  ) -> dict[str, Any]:
    async with db.read() as session:
        rows, total = await repository.page(session, sites, search=search.strip(), page=page, size=size)
        return {"content": [present(e) for e in rows], "total": total, "page": page, "size": size}


async def detail(db: Database, sites: Collection[str], entry_id: str) -> dict[str, Any]:
    async with db.read() as session:
        e = await repository.get(session, sites, entry_id)
    if e is None:
        raise entry_not_found()
    return present(e)


_FIELDS = {"firstName": "first_name", "lastName": "last_name", "email": "email", "dateOfBirth": "date_of_birth",
           "reason": "reason", "site": "site_code", "expiresOn": "expires_on"}


async def update(db: Database, sites: Collection[str], entry_id: str, body: EntryPatch) -> dict[str, Any]:
    given = body.model_fields_set
    if "site" in given:
        _site_ok(sites, body.site)
    async with db.write() as session:
        e = await repository.get(session, sites, entry_id)
        if e is None:
            raise entry_not_found()
        for name in given:
            value = getattr(body, name)
            if name in ("firstName", "lastName", "reason") and value is None:
                raise ValidationFailed([ErrorDetail(field=name, code="MISSING_FIELD",
                                                    message=f"Mandatory payload '{name}' is null or empty.")])
            setattr(e, _FIELDS[name], value.strip() if isinstance(value, str) and name != "email" else value)
        e.updated_at = utcnow()
        await _changed(session, e, "updated")
    return present(e)


async def delete(db: Database, sites: Collection[str], entry_id: str) -> None:
    async with db.write() as session:
        e = await repository.get(session, sites, entry_id)
        if e is None:
            raise entry_not_found()
        await session.delete(e)
        await _changed(session, e, "deleted")


async def import_csv(db: Database, sites: Collection[str], actor: str, data: bytes) -> dict[str, Any]:
    """Rows with the entry's columns (a header row first). All or nothing: any bad row names its
    line and column and nothing is created."""
    from gatehouse.kit.validation import details_from_validation_error

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed([ErrorDetail(field="file", code="INVALID_CSV",
                                            message="The file must be CSV text in UTF-8.")]) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("firstName", "lastName", "reason") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed([ErrorDetail(field="file", code="INVALID_CSV", message=(
            f"The header row must name the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}."))])
    bodies: list[EntryIn] = []
    problems: list[ErrorDetail] = []
    for n, row in enumerate(reader, start=2):
        if n - 1 > IMPORT_MAX_ROWS:
            raise ValidationFailed([ErrorDetail(field="file", code="TOO_MANY_ROWS",
                                                message=f"At most {IMPORT_MAX_ROWS} rows per import.")])
        clean = {k: (v.strip() or None) for k, v in row.items() if k in COLUMNS and isinstance(v, str)}
        try:
            body = EntryIn.model_validate(clean)
            _site_ok(sites, body.site, f"line {n}: site")
            bodies.append(body)
        except ValidationError as exc:
            problems += [ErrorDetail(field=f"line {n}: {d.field}", code=d.code, message=f"Line {n}: {d.message}")
                         for d in details_from_validation_error(exc)]
        except ValidationFailed as exc:
            problems += exc.details
    if problems:
        raise ValidationFailed(problems[:50], total=len(problems))
    now = utcnow()
    async with db.write() as session:
        made = [_new(b, actor, now) for b in bodies]
        session.add_all(made)
        await session.flush()
        for e in made:
            await _changed(session, e, "imported")
    return {"created": len(made), "entries": [present(e) for e in made]}


# --- holds --------------------------------------------------------------------------------------


def hit_event(ticket: Any, hit: Hit, where: str, at: datetime) -> events.Recorded:
    """`security.watchlist_hit`: no account (no customer's trail, webhook or inbox ever holds it), the
    site's (its operators' trail, mail and webhooks)."""
    return events.new_event(EventType.WATCHLIST_HIT, object_id=ticket.id, site_code=ticket.site_code, actor=SYSTEM,
                            at=at, data={"entryId": hit.entry.id, "matchedOn": hit.matched_on, "where": where,
                                         "visitor": f"{ticket.visitor_first_name} {ticket.visitor_last_name}",
                                         "reason": hit.entry.reason})


def hold_row(ticket_id: str, hit: Hit, at: datetime) -> dict[str, Any]:
    return {"work_order_id": ticket_id, "entry_id": hit.entry.id, "status": "open", "matched_on": hit.matched_on,
            "reason": hit.entry.reason, "raised_at": at, "decided_by": None, "decided_at": None,
            "decision_reason": None}


async def would_hit(session: AsyncSession, ticket: Any, today: date) -> bool:
    """Whether the list as it is now names this visitor (a read: nothing is written)."""
    rows = SessionRows(session)
    index = await current_index(rows, rows.cache_key)
    return index.screen(ticket.visitor_first_name, ticket.visitor_last_name, ticket.visitor_email,
                        ticket.site_code, today) is not None


async def screen(session: AsyncSession, ticket: Any, today: date, where: str) -> SecurityHold | None:
    """Screen a ticket's visitor in this transaction, unless it was screened into a hold already:
    a hit writes the hold and its event (mail and webhooks to the site's security in the same
    transaction). Returns the ticket's hold, old or new."""
    held = await repository.hold_of(session, ticket.id)
    if held is not None:
        return held
    rows = SessionRows(session)
    index = await current_index(rows, rows.cache_key)
    hit = index.screen(ticket.visitor_first_name, ticket.visitor_last_name, ticket.visitor_email,
                       ticket.site_code, today)
    if hit is None:
        return None
    now = utcnow()
    hold = SecurityHold(**hold_row(ticket.id, hit, now))
    session.add(hold)
    await session.flush()
    await events.record_event(session, hit_event(ticket, hit, where, now))
    return hold
