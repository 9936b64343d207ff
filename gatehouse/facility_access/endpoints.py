"""Seed 001 endpoints. Thin: parse, call the service, return the wire shape."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse

from gatehouse.auth.dependencies import CanApprove, CanRead, CanRequest
from gatehouse.facility_access import service
from gatehouse.facility_access.badge_schemas import ApproveIn
from gatehouse.facility_access.listing import ListQuery
from gatehouse.facility_access.partial import partial_requests
from gatehouse.facility_access.schemas import (
    AccessRequestIn,
    AccessRequestsIn,
    CancelIn,
    CancelOut,
    CreateResponse,
    DenyIn,
    EditIn,
    EditOut,
    StatusChangeOut,
    TicketOut,
    TicketPageOut,
)
from gatehouse.kit.db import DatabaseDep, ReaderDep
from gatehouse.kit.errors import ValidationFailed, error_responses
from gatehouse.kit.responses import JsonBytes
from gatehouse.kit.validation import JsonBody

router = APIRouter(tags=["Facility access"])

_create_body = JsonBody(AccessRequestsIn, name="AccessRequests")
_edit_body = JsonBody(EditIn, name="EditAccessTicket")
_cancel_body = JsonBody(CancelIn, name="CancelAccessTicket", required=False)
_deny_body = JsonBody(DenyIn, name="DenyAccessTicket")
_approve_body = JsonBody(ApproveIn, name="ApproveAccessTicket", required=False)

TicketId = Annotated[str, Path(max_length=20, description="Work order id, e.g. WO8744051.")]
ADDITION = {"x-gatehouse-addition": True}


async def _create_body_with_rules(request: Request, ctx: CanRequest, db: DatabaseDep) -> list[AccessRequestIn]:
    """The body; if its types fail, the business rules still run on what did parse, and every
    problem is reported at once (a rule is not repeated for a field whose type already failed)."""
    try:
        return await _create_body(request)
    except ValidationFailed as exc:
        raw = getattr(request.state, "json_raw", None)
        if not raw or exc.code != "CONSTRAINT_VIOLATION":
            raise
        seen = {d.field for d in exc.details}
        extra = [d for d in await service.rule_problems(db, ctx, partial_requests(raw)) if d.field not in seen]
        if not extra:
            raise
        details = list(exc.details) + extra
        raise ValidationFailed(details, total=len(details)) from None


@router.post(
    "/v1/facility-access/visitors/access-requests",
    response_model=CreateResponse,
    summary="Request facility access for visitors (one work order per visitor and site)",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422),
    openapi_extra={**_create_body.openapi_extra, "parameters": [{
        "name": "Idempotency-Key", "in": "header", "required": False, "x-gatehouse-addition": True,
        "description": "1-255 printable ASCII characters; a retry with the same key and body within 24 h "
                       "replays the first response and creates nothing.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255}}]},
)
async def create_access_requests(
    ctx: CanRequest,
    db: DatabaseDep,
    body: Annotated[list[AccessRequestIn], Depends(_create_body_with_rules)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", include_in_schema=False)] = None,
):
    response, replayed = await service.create_with_key(db, ctx, body, idempotency_key, ctx.principal.app_id)
    return JSONResponse(response, headers={"Idempotent-Replayed": "true"}) if replayed else response


@router.get(
    "/v1/facility-access/access-tickets/{ticketId}",
    response_model=TicketOut,
    summary="Retrieve a visitor access ticket",
    responses=error_responses(400, 401, 403, 404),
)
async def get_access_ticket(ctx: CanRead, reader: ReaderDep, ticketId: TicketId):
    # serialised once, here: the dict is built by the presenter, not re-validated through the model
    return JsonBytes(await service.get_ticket_detail(reader, ctx.account_id, ticketId))


@router.get(
    "/v1/facility-access/visitors",
    response_model=TicketPageOut,
    summary="List the account's visitor access tickets, newest first",
    responses=error_responses(400, 401, 403),
)
async def list_visitor_access(ctx: CanRead, db: DatabaseDep, reader: ReaderDep,
                              query: Annotated[ListQuery, Depends()]):
    return JsonBytes(await service.list_tickets(db, reader, ctx.account_id, **query.filters()))


@router.put(
    "/v1/facility-access/access-tickets/{ticketId}",
    response_model=EditOut,
    summary="Edit a visitor access ticket (visitorPhone, emailNotifications)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra=_edit_body.openapi_extra,
)
async def edit_access_ticket(ctx: CanRequest, db: DatabaseDep, ticketId: TicketId,
                             body: Annotated[EditIn, Depends(_edit_body)]):
    return await service.edit_ticket(db, ctx, ticketId, body)


@router.put(
    "/v1/facility-access/access-tickets/{ticketId}/cancel",
    response_model=CancelOut,
    summary="Cancel a visitor access ticket",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra=_cancel_body.openapi_extra,
)
async def cancel_access_ticket(ctx: CanRequest, db: DatabaseDep, ticketId: TicketId,
                               body: Annotated[CancelIn, Depends(_cancel_body)]):
    return await service.cancel_ticket(db, ctx, ticketId, body)


@router.put(
    "/v1/facility-access/access-tickets/{ticketId}/approve",
    response_model=StatusChangeOut,
    summary="Approve a pending ticket (approvers); a permanent badge request location by location",
    responses=error_responses(400, 401, 403, 404, 409),
    openapi_extra={**_approve_body.openapi_extra, **ADDITION},
)
async def approve_access_ticket(ctx: CanApprove, db: DatabaseDep, ticketId: TicketId,
                                body: Annotated[ApproveIn, Depends(_approve_body)]):
    return await service.approve_ticket(db, ctx, ticketId, body)


@router.put(
    "/v1/facility-access/access-tickets/{ticketId}/deny",
    response_model=StatusChangeOut,
    summary="Deny a pending visitor access ticket (approvers)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra={**_deny_body.openapi_extra, **ADDITION},
)
async def deny_access_ticket(ctx: CanApprove, db: DatabaseDep, ticketId: TicketId,
                             body: Annotated[DenyIn, Depends(_deny_body)]):
    return await service.deny_ticket(db, ctx, ticketId, body.reason)
