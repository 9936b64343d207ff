"""The audit trail out (SPEC §9): an account's events and an operator's sites' events, oldest first,
keyset-paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gatehouse.audit import service
from gatehouse.audit.schemas import AuditPage
from gatehouse.auth.dependencies import CurrentOperator, require
from gatehouse.auth.principal import AccountContext
from gatehouse.events.service import TYPES
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import error_responses

router = APIRouter(tags=["Audit trail"])
ADDITION = {"x-gatehouse-addition": True}
CanReadAudit = Annotated[AccountContext, Depends(require("audit:read"))]


# the forms parse_instant reads (a date, or a date-time with an optional zone); said in the schema
# so that generated clients and fuzzers send what the server takes
INSTANT = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?)?$"
Since = Annotated[str | None, Query(max_length=40, description="ISO 8601, inclusive",
                                    json_schema_extra={"pattern": INSTANT})]
Until = Annotated[str | None, Query(max_length=40, description="ISO 8601, exclusive",
                                    json_schema_extra={"pattern": INSTANT})]
Type = Annotated[str | None, Query(alias="type", max_length=64, json_schema_extra={"enum": sorted(TYPES)})]
ObjectId = Annotated[str | None, Query(alias="objectId", max_length=64, description="e.g. a work order id")]
Size = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=40, description="The nextCursor of the previous page",
                                     json_schema_extra={"pattern": r"^[A-Za-z0-9_-]+$"})]


@router.get("/v1/audit-events", response_model=AuditPage, openapi_extra=ADDITION,
            summary="The account's audit trail, oldest first (permission audit:read)",
            responses=error_responses(400, 401, 403))
async def account_events(ctx: CanReadAudit, db: DatabaseDep, since: Since = None, until: Until = None,
                         type_: Type = None, object_id: ObjectId = None, size: Size = 100,
                         cursor: Cursor = None):
    where = service.event_filter(since, until, type_, object_id, account_id=ctx.account_id)
    return await service.page(db, where, cursor, size)


@router.get("/ops/v1/audit-events", response_model=AuditPage, openapi_extra=ADDITION,
            summary="The audit trail of the operator's sites, oldest first",
            responses=error_responses(400, 401, 403))
async def operator_events(op: CurrentOperator, db: DatabaseDep, since: Since = None, until: Until = None,
                          type_: Type = None, object_id: ObjectId = None, size: Size = 100,
                          cursor: Cursor = None):
    where = service.event_filter(since, until, type_, object_id, sites=op.operator_sites)
    return await service.page(db, where, cursor, size)
