"""Operator API (a Gatehouse addition): site-scoped tokens, no account headers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from gatehouse.auth.dependencies import CurrentOperator
from gatehouse.auth.principal import Principal
from gatehouse.comments.schemas import CommentOut, OperatorCommentIn
from gatehouse.facility_access.arrival import Arrival
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.schemas import AccessRequestIn, CreateResponse
from gatehouse.kit.db import DatabaseDep, ReaderDep
from gatehouse.kit.errors import error_responses
from gatehouse.kit.responses import JsonBytes
from gatehouse.kit.validation import JsonBody
from gatehouse.kit.wire import ApiModel, Text, WireDate
from gatehouse.operators import roll_call, security, service
from gatehouse.operators import walk_in as walk_ins
from gatehouse.operators.schemas import CheckInIn, OperatorActionOut, OperatorTicketOut, RosterPage
from gatehouse.watchlist.schemas import HoldDecisionIn, SecurityHoldOut

router = APIRouter(tags=["Operators"])
ADDITION = {"x-gatehouse-addition": True}
TicketId = Annotated[str, Path(max_length=20, description="Work order id, e.g. WO8744051.")]
_check_in_body = JsonBody(CheckInIn, name="CheckIn")
_comment_body = JsonBody(OperatorCommentIn, name="OperatorComment")


def _op(p: Principal, role: str = "desk") -> service.Operator:
    """The calling operator, who must hold the role the endpoint's work needs (403 naming it)."""
    op = service.Operator(p.user_id, p.display_name, p.operator_sites, p.operator_roles)
    service.need_role(op, role)
    return op


@router.get("/ops/v1/access-tickets", response_model=RosterPage, openapi_extra=ADDITION,
            summary="The roster: tickets at the operator's sites whose access covers a date",
            responses=error_responses(400, 401, 403, 404))
async def roster(
    op: CurrentOperator, db: DatabaseDep, reader: ReaderDep,
    site: Annotated[str | None, Query(max_length=6, description="One of the operator's sites; default all.")] = None,
    status: Annotated[str | None, Query(max_length=32, json_schema_extra={"enum": [s.value for s in Status]})] = None,
    date_: Annotated[WireDate | None, Query(alias="date", description="yyyy-MM-dd; default today in site time.")] = None,
    page: Annotated[int, Query(ge=0, le=100_000, description="Page number, from 0.")] = 0,
    size: Annotated[int, Query(ge=1, le=service.ROSTER_PAGE_MAX, description="Rows per page.")] = 100,
):
    return JsonBytes(await service.roster(db, _op(op), site=site, status=status, day=date_, page=page, size=size,
                                          reader=reader))


@router.get("/ops/v1/access-tickets/{ticketId}", response_model=OperatorTicketOut, openapi_extra=ADDITION,
            summary="A ticket at one of the operator's sites", responses=error_responses(400, 401, 403, 404))
async def detail(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId):
    return await service.ticket_detail(db, _op(op), ticketId)


@router.put("/ops/v1/access-tickets/{ticketId}/check-in", response_model=OperatorActionOut,
            openapi_extra={**_check_in_body.openapi_extra, **ADDITION},
            summary="Check the visitor in (Approved -> In Progress), recording the badge number",
            responses=error_responses(400, 401, 403, 404, 409, 413, 415))
async def check_in(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId,
                   body: Annotated[CheckInIn, Depends(_check_in_body)]):
    return await service.check_in(db, _op(op), ticketId, body.badgeNumber, arrival_of(body))


@router.put("/ops/v1/access-tickets/{ticketId}/check-out", response_model=OperatorActionOut, openapi_extra=ADDITION,
            summary="Check the visitor out (Completed on or after the badge end date)",
            responses=error_responses(400, 401, 403, 404, 409))
async def check_out(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId):
    return await service.check_out(db, _op(op), ticketId)


@router.put("/ops/v1/access-tickets/{ticketId}/complete", response_model=OperatorActionOut, openapi_extra=ADDITION,
            summary="Complete the ticket", responses=error_responses(400, 401, 403, 404, 409))
async def complete(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId):
    return await service.complete(db, _op(op), ticketId)


@router.post("/ops/v1/access-tickets/{ticketId}/comments", response_model=CommentOut,
             openapi_extra={**_comment_body.openapi_extra, **ADDITION}, summary="Comment on a ticket",
             responses=error_responses(400, 401, 403, 404, 409, 413, 415))
async def comment(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId,
                  body: Annotated[OperatorCommentIn, Depends(_comment_body)]):
    return await service.comment(db, _op(op), ticketId, body.comment)





class OnSiteOut(BaseModel):
    kind: Literal["visitor", "badge-holder"]
    ticketId: str
    name: str
    company: str
    escort: str
    locations: list[str]
    checkInTime: str = Field(description="yyyy-MM-dd HH:mm:ss, site time (zone in `timezone`).")
    timezone: str
    accountedFor: bool
    markedBy: str


class MarkIn(ApiModel):
    accountedFor: bool


_mark_body = JsonBody(MarkIn, name="RollCallMark")
SiteCode = Annotated[str, Path(max_length=6, description="One of the operator's sites.")]


@router.get("/ops/v1/sites/{site}/on-site", response_model=list[OnSiteOut], openapi_extra=ADDITION,
            summary="Roll call: everyone checked in at the site now", responses=error_responses(400, 401, 403, 404))
async def on_site(op: CurrentOperator, db: DatabaseDep, site: SiteCode):
    # built here in its wire shape: no second validation of thousands of rows (SPEC §7)
    return Response(await roll_call.on_site_json(db, _op(op), site), media_type="application/json")


@router.put("/ops/v1/sites/{site}/on-site/{ticketId}", response_model=OnSiteOut,
            openapi_extra={**_mark_body.openapi_extra, **ADDITION}, summary="Mark a person accounted for",
            responses=error_responses(400, 401, 403, 404, 413, 415))
async def mark_on_site(op: CurrentOperator, db: DatabaseDep, site: SiteCode, ticketId: TicketId,
                       body: Annotated[MarkIn, Depends(_mark_body)]):
    return await roll_call.mark(db, _op(op), site, ticketId, body.accountedFor)


class WalkInIn(AccessRequestIn):
    """A walk-in: the customer account, and the visit fields of a create with one site (the desk's)."""

    accountId: Annotated[str, Text(18, 1)]
    isBulkRequest: bool = False


class GroupCheckInItem(CheckInIn):
    ticketId: Annotated[str, Text(20, 1)]


_walk_in_body = JsonBody(WalkInIn, name="WalkIn")
GroupCheckIns = Annotated[list[GroupCheckInItem], Field(min_length=1, max_length=50)]
_group_body: JsonBody[list[GroupCheckInItem]] = JsonBody(GroupCheckIns, name="GroupCheckIn")


@router.post("/ops/v1/walk-ins", response_model=CreateResponse, openapi_extra={**_walk_in_body.openapi_extra,
                                                                            **ADDITION},
             summary="A walk-in: a visit requested by the desk on a customer's behalf (Pending Approval unless "
                     "the account approves automatically)", responses=error_responses(400, 401, 403, 404, 413, 415))
async def walk_in(op: CurrentOperator, db: DatabaseDep,
                  body: Annotated[WalkInIn, Depends(_walk_in_body)]):
    request = AccessRequestIn.model_validate(body.model_dump(exclude={"accountId"}))
    return await walk_ins.create_walk_in(db, _op(op), body.accountId, request)


@router.put("/ops/v1/access-tickets/check-in", response_model=list[OperatorActionOut],
            openapi_extra={**_group_body.openapi_extra, **ADDITION},
            summary="Check a group in together, each with a badge number (all or none)",
            responses=error_responses(400, 401, 403, 404, 409, 413, 415))
async def group_check_in(op: CurrentOperator, db: DatabaseDep,
                         body: Annotated[list[GroupCheckInItem], Depends(_group_body)]):
    return await walk_ins.check_in_group(db, _op(op), [(i.ticketId, i.badgeNumber, arrival_of(i)) for i in body])


_hold_body = JsonBody(HoldDecisionIn, name="SecurityHoldDecision")


class HoldDecidedOut(BaseModel):
    ticketId: str
    ticketStatus: Status
    securityHold: SecurityHoldOut



@router.put("/ops/v1/access-tickets/{ticketId}/security-hold", response_model=HoldDecidedOut,
            openapi_extra={**_hold_body.openapi_extra, **ADDITION},
            summary="Clear or uphold a watchlist hold (role watchlist); upholding denies the ticket",
            responses=error_responses(400, 401, 403, 404, 409, 413, 415))
async def decide_hold(op: CurrentOperator, db: DatabaseDep, ticketId: TicketId,
                      body: Annotated[HoldDecisionIn, Depends(_hold_body)]):
    return await security.decide_hold(db, _op(op, "watchlist"), ticketId, body.decision, body.reason)


def arrival_of(body: CheckInIn) -> Arrival:
    return Arrival(body.identityDocument, body.nameMatches, body.escortPresent, body.escortBadgeNumber,
                   body.rulesAcceptedName)
