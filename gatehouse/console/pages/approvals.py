"""The approver's queue."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from gatehouse.console import web
from gatehouse.console.web import PortalDep, db_of, need, show, zones
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access import service as access
from gatehouse.facility_access.lifecycle import Status

router = web.router()


@router.get("/a/{account_id}/approvals")
async def approvals(request: Request, p: PortalDep, page_no: Annotated[int, Query(alias="page", ge=0, le=100_000)] = 0,
                    notice: Annotated[str, Query(max_length=300)] = "",
                    error: Annotated[str, Query(max_length=300)] = "") -> Response:
    if not p.can("permanent-badge:approve"):
        need(p, "visitor-access:approve")
    found = await access.list_tickets(db_of(request), request.app.state.reader, p.account.id, site=None,
                                      status=Status.PENDING.value, created_by=None, size=25, page=page_no)
    for row in found["content"]:  # which rows this person decides (a badge has its own approvers)
        row["mine"] = p.can(lifecycle.approver_permission(SimpleNamespace(request_type=row["requestType"])))
    return show(request, p, "portal/approvals.html", found=found, notice=notice, error=error,
                zones=await zones(request, p))
