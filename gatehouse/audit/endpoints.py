"""The audit trail out (SPEC §9): an account's events and an operator's sites' events, oldest first,
keyset-paginated."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gatehouse.auth.dependencies import CurrentOperator, require
from gatehouse.auth.principal import AccountContext
from gatehouse.events import repository
from gatehouse.audit.schemas import AuditPage
from gatehouse.events.service import TYPES, present
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import ErrorDetail, ValidationFailed, error_responses

router = APIRouter(tags=["Audit trail"])
ADDITION = {"x-gatehouse-addition": True}
CanReadAudit = Annotated[AccountContext, Depends(require("audit:read"))]


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


def _filter(since: str | None, until: str | None, type_: str | None, object_id: str | None,
            **scope) -> repository.EventFilter:  # type: ignore[no-untyped-def]
    if type_ is not None and type_ not in TYPES:
        raise ValidationFailed([ErrorDetail(field="type", code="INVALID_VALUE",
                                            message=f"Query parameter 'type' must be one of: {', '.join(sorted(TYPES))}.")])
    return repository.EventFilter(since=parse_instant(since, "since"), until=parse_instant(until, "until"),
                                  type=type_, object_id=object_id, **scope)


async def _page(db, where: repository.EventFilter, cursor: str | None, size: int) -> dict:  # type: ignore[no-untyped-def]
    after = decode_cursor(cursor)
    async with db.read() as session:
        rows = await repository.page(session, where, after_seq=after, size=size)
    return {"content": [present(r) for r in rows],
            "nextCursor": encode_cursor(rows[-1].seq) if len(rows) == size else None}


Since = Annotated[str | None, Query(max_length=40, description="ISO 8601, inclusive")]
Until = Annotated[str | None, Query(max_length=40, description="ISO 8601, exclusive")]
Type = Annotated[str | None, Query(alias="type", max_length=64, json_schema_extra={"enum": sorted(TYPES)})]
ObjectId = Annotated[str | None, Query(alias="objectId", max_length=64, description="e.g. a work order id")]
Size = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=40)]


@router.get("/v1/audit-events", response_model=AuditPage, openapi_extra=ADDITION,
            summary="The account's audit trail, oldest first (permission audit:read)",
            responses=error_responses(400, 401, 403))
async def account_events(ctx: CanReadAudit, db: DatabaseDep, since: Since = None, until: Until = None,
                         type_: Type = None, object_id: ObjectId = None, size: Size = 100,
                         cursor: Cursor = None):  # type: ignore[no-untyped-def]
    return await _page(db, _filter(since, until, type_, object_id, account_id=ctx.account_id), cursor, size)


@router.get("/ops/v1/audit-events", response_model=AuditPage, openapi_extra=ADDITION,
            summary="The audit trail of the operator's sites, oldest first",
            responses=error_responses(400, 401, 403))
async def operator_events(op: CurrentOperator, db: DatabaseDep, since: Since = None, until: Until = None,
                          type_: Type = None, object_id: ObjectId = None, size: Size = 100,
                          cursor: Cursor = None):  # type: ignore[no-untyped-def]
    return await _page(db, _filter(since, until, type_, object_id, sites=op.operator_sites), cursor, size)
