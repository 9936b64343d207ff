"""Permanent badge endpoints (SPEC §13). Thin: parse, call `badges`, return the wire shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gatehouse.auth.dependencies import CanRead, require
from gatehouse.auth.principal import AccountContext
from gatehouse.facility_access import badges
from gatehouse.facility_access.badge_schemas import (
    BadgeHolderPageOut,
    PermBadgeIn,
    PermBadgeModifyIn,
    PermBadgeTerminateIn,
)
from gatehouse.facility_access.lifecycle import HolderStatus
from gatehouse.facility_access.schemas import CreateResponse
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import ErrorDetail, ValidationFailed, error_responses
from gatehouse.kit.validation import JsonBody

router = APIRouter(tags=["Permanent badges"])
CanRequestBadge = Annotated[AccountContext, Depends(require("permanent-badge:request"))]

_new = JsonBody(PermBadgeIn, name="PermanentBadgeRequest")
_modify = JsonBody(PermBadgeModifyIn, name="PermanentBadgeModify")
_terminate = JsonBody(PermBadgeTerminateIn, name="PermanentBadgeTerminate")
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 415)


@router.post("/v1/facility-access/perm-badges", response_model=CreateResponse, responses=ERRORS,
             summary="Request a permanent badge (New Badge: one work order)", openapi_extra=_new.openapi_extra)
async def request_permanent_badge(ctx: CanRequestBadge, db: DatabaseDep,
                                  body: Annotated[PermBadgeIn, Depends(_new)]):
    return await badges.request_badge(db, ctx, body)


@router.put("/v1/facility-access/perm-badges/modify", response_model=CreateResponse, responses=ERRORS,
            summary="Modify a permanent badge: add sites, change its details (Modify Badge)",
            openapi_extra=_modify.openapi_extra)
async def modify_permanent_badge(ctx: CanRequestBadge, db: DatabaseDep,
                                 body: Annotated[PermBadgeModifyIn, Depends(_modify)]):
    return await badges.modify_badge(db, ctx, body)


@router.post("/v1/facility-access/perm-badges/terminate", response_model=CreateResponse, responses=ERRORS,
             summary="End all access of a permanent badge holder (Terminate All Access)",
             openapi_extra=_terminate.openapi_extra)
async def terminate_permanent_badge(ctx: CanRequestBadge, db: DatabaseDep,
                                    body: Annotated[PermBadgeTerminateIn, Depends(_terminate)]
                                    ):
    return await badges.terminate_badge(db, ctx, body)


@router.get("/v1/facility-access/perm-badges", response_model=BadgeHolderPageOut,
            responses=error_responses(400, 401, 403), summary="The account's permanent badge holders")
async def list_permanent_badges(
    ctx: CanRead, db: DatabaseDep,
    site: Annotated[str | None, Query(max_length=6, description="Holders with access at this site.")] = None,
    status: Annotated[str | None, Query(max_length=16, json_schema_extra={"enum": [s.value for s in HolderStatus]},
                                        description="Active, Pending, Expired, Terminated or Deactivated.")] = None,
    size: Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")] = 25,
    page: Annotated[int, Query(ge=0, le=10_000_000, description="Page number, from 0.")] = 0,
):
    if status is not None and status not in HolderStatus._value2member_map_:
        raise ValidationFailed([ErrorDetail(field="status", code="INVALID_VALUE",
                                            message="Query parameter 'status' has an unexpected value.")])
    return await badges.holders_page(db, ctx.account_id, site=site, status=status, size=size, page=page)
