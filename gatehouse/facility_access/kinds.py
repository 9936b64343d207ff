"""The rest of FacilityAccess-v1's visitor calls (SPEC §13): visitor *modify* and PoP/POE room
access. Each is the create (`service.create_with_key`) with its own body shape and `rules.Kind`;
what differs is only how the body reaches the create's rules and how its problems are named."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from gatehouse.auth.dependencies import CanRead, CanRequest, require
from gatehouse.auth.principal import AccountContext
from gatehouse.facility_access import service, terminate
from gatehouse.facility_access.listing import ListQuery
from gatehouse.facility_access.partial import partial_requests
from gatehouse.facility_access.rules import MODIFY_VISITOR, POP_POE, Kind
from gatehouse.facility_access.schemas import (
    AccessRequestIn,
    CreateResponse,
    ModifyVisitorIn,
    PopPoeRequestIn,
    TerminateVisitorsIn,
    TicketPageOut,
)
from gatehouse.kit.db import DatabaseDep, ReaderDep
from gatehouse.kit.errors import GatehouseError, ValidationFailed, error_responses
from gatehouse.kit.responses import JsonBytes
from gatehouse.kit.validation import JsonBody, one_object_path, rename_fields

router = APIRouter(tags=["Facility access"])
CanRequestPopPoe = Annotated[AccountContext, Depends(require("pop-poe:request"))]

_modify_body = JsonBody(ModifyVisitorIn, name="ModifyVisitorAccess")
_pop_poe_body = JsonBody(list[PopPoeRequestIn], name="PopPoeAccessRequests", object_or_list=True)
_terminate_body = JsonBody(TerminateVisitorsIn, name="TerminateVisitorAccess")
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False, "x-gatehouse-addition": True,
               "description": "1-255 printable ASCII characters; a retry with the same key and body within 24 h "
                              "replays the first response and creates nothing.",
               "schema": {"type": "string", "minLength": 1, "maxLength": 255}}


def _modify_path(path: str) -> str:
    """The create's paths for a modify body: one object, whose sites are its addSites."""
    return re.sub(r"^sites\b", "addSites", one_object_path(path))


async def _create(db, ctx: AccountContext, requests: list[AccessRequestIn], key: str | None, kind: Kind,
                  rename) -> JSONResponse | dict:
    try:
        response, replayed = await service.create_with_key(db, ctx, requests, key, ctx.principal.app_id, kind)
    except GatehouseError as exc:
        if rename is not None and exc.details:
            rename_fields(exc, rename)
        raise
    return JSONResponse(response, headers={"Idempotent-Replayed": "true"}) if replayed else response


async def _with_rules(request: Request, db, ctx: AccountContext, body: JsonBody, kind: Kind,
                      to_create=lambda raw: raw):
    """As the create: a body whose types fail still gets the rules' problems on what did parse."""
    try:
        return await body(request)
    except ValidationFailed as exc:
        raw = getattr(request.state, "json_raw", None)
        if not raw or exc.code != "CONSTRAINT_VIOLATION":
            raise
        seen = {d.field for d in exc.details}
        extra = await service.rule_problems(db, ctx, partial_requests(to_create(raw)), kind)
        rename = _modify_path if body is _modify_body else (
            one_object_path if getattr(request.state, "one_object", False) else None)
        if rename is not None:
            extra = rename_fields(ValidationFailed(extra), rename).details if extra else []
        extra = [d for d in extra if d.field not in seen]
        if not extra:
            raise
        details = list(exc.details) + extra
        raise ValidationFailed(details, total=len(details)) from None


def _modify_as_create(raw: bytes) -> bytes:
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(data, dict):
        data["sites"] = data.pop("addSites", [])
        return json.dumps([data]).encode()
    return raw


async def _modify_body_with_rules(request: Request, ctx: CanRequest, db: DatabaseDep) -> ModifyVisitorIn:
    return await _with_rules(request, db, ctx, _modify_body, MODIFY_VISITOR, _modify_as_create)


async def _pop_poe_body_with_rules(request: Request, ctx: CanRequestPopPoe, db: DatabaseDep) -> list[PopPoeRequestIn]:
    return await _with_rules(request, db, ctx, _pop_poe_body, POP_POE)


def _modify_route(method: Callable[..., Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """The modify call's route, for PUT and for POST (the real API takes both)."""
    return method("/v1/facility-access/visitors", response_model=CreateResponse,
                  summary="Modify visitor access: add sites and locations for visitors (one work order per visitor "
                          "and site)",
                  responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
                  openapi_extra={**_modify_body.openapi_extra, "parameters": [IDEMPOTENCY]})


@_modify_route(router.put)
async def modify_visitor_access(
    ctx: CanRequest, db: DatabaseDep, body: Annotated[ModifyVisitorIn, Depends(_modify_body_with_rules)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)] = None,
):
    as_create = body.model_copy(update={"sites": body.addSites})
    return await _create(db, ctx, [as_create], idempotency_key, MODIFY_VISITOR, _modify_path)


# the real API takes POST on the same path as the same call
_modify_route(router.post)(modify_visitor_access)


@router.post(
    "/v1/facility-access/pop-poes/access-requests",
    response_model=CreateResponse,
    summary="Request access to a site's PoP/POE rooms (one object, or a list of up to 10)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra={**_pop_poe_body.openapi_extra, "parameters": [IDEMPOTENCY]},
)
async def create_pop_poe_requests(
    request: Request, ctx: CanRequestPopPoe, db: DatabaseDep,
    body: Annotated[list[PopPoeRequestIn], Depends(_pop_poe_body_with_rules)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)] = None,
):
    rename = one_object_path if getattr(request.state, "one_object", False) else None
    return await _create(db, ctx, list(body), idempotency_key, POP_POE, rename)


@router.get(
    "/v1/facility-access/pop-poes/access-requests",
    response_model=TicketPageOut,
    summary="List the account's PoP/POE room access requests, newest first",
    responses=error_responses(400, 401, 403),
)
async def list_pop_poe_requests(ctx: CanRead, db: DatabaseDep, reader: ReaderDep,
                                query: Annotated[ListQuery, Depends()]):
    return JsonBytes(await service.list_tickets(db, reader, ctx.account_id, request_type=POP_POE.request_type,
                                                **query.filters()))


@router.post(
    "/v1/facility-access/visitors/terminate",
    response_model=CreateResponse,
    summary="Terminate all visitor access of visitors (one work order per visitor)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415, 422),
    openapi_extra={**_terminate_body.openapi_extra, "parameters": [IDEMPOTENCY]},
)
async def terminate_visitor_access(
    ctx: CanRequest, db: DatabaseDep, body: Annotated[TerminateVisitorsIn, Depends(_terminate_body)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)] = None,
):
    return await terminate.terminate_visitors(db, ctx, body, idempotency_key)
