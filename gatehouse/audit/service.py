"""The audit trail's reading rules, shared by the API, the CLI export and the console: instants,
cursors, filters and one page of an owner's events, oldest first (SPEC §9)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from gatehouse.events import repository
from gatehouse.events.service import TYPES, present
from gatehouse.kit.errors import ErrorDetail, ValidationFailed


def parse_instant(value: str | None, field: str) -> datetime | None:
    """ISO 8601: a date (00:00 UTC) or a date-time with `Z` or an offset; stored as naive UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationFailed([ErrorDetail(field=field, code="INVALID_DATE_TIME",
                                            message=f"Query parameter '{field}' must be an ISO 8601 date or "
                                                    "date-time, e.g. 2026-11-22T10:15:30Z.")]) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"e{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "e" or not raw[1:].isdigit() or len(raw) > 20:
            raise ValueError
        return int(raw[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed([ErrorDetail(field="cursor", code="INVALID_CURSOR",
                                            message="Query parameter 'cursor' is not a cursor this API returned.")]
                               ) from None


def event_filter(since: str | None, until: str | None, type_: str | None, object_id: str | None,
            **scope) -> repository.EventFilter:
    if type_ is not None and type_ not in TYPES:
        raise ValidationFailed([ErrorDetail(field="type", code="INVALID_VALUE",
                                            message=f"Query parameter 'type' must be one of: {', '.join(sorted(TYPES))}.")])
    return repository.EventFilter(since=parse_instant(since, "since"), until=parse_instant(until, "until"),
                                  type=type_, object_id=object_id, **scope)


async def page(db, where: repository.EventFilter, cursor: str | None, size: int,
               newest_first: bool = False) -> dict:
    after = decode_cursor(cursor)
    async with db.read() as session:
        rows = await repository.page(session, where, after_seq=after, size=size, newest_first=newest_first)
    return {"content": [present(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1].seq) if len(rows) == size else None}
