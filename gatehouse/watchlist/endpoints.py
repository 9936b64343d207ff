"""`/ops/v1/watchlist` (SPEC §17): operators with the `watchlist` role keep the list; entries for
every site and for their own sites."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from gatehouse.auth.dependencies import CurrentOperator
from gatehouse.auth.principal import Principal
from gatehouse.kit.db import DatabaseDep
from gatehouse.kit.errors import Forbidden, PayloadTooLarge, UnsupportedMediaType, error_responses
from gatehouse.kit.validation import JsonBody
from gatehouse.watchlist import service
from gatehouse.watchlist.schemas import EntryIn, EntryOut, EntryPage, EntryPatch, ImportOut

router = APIRouter(tags=["Watchlist"])
ADDITION = {"x-gatehouse-addition": True}
EntryId = Annotated[str, Path(max_length=20, description="Watchlist entry id, e.g. WL3F2A9C01B2D4.")]
_entry_body = JsonBody(EntryIn, name="WatchlistEntry")
_patch_body = JsonBody(EntryPatch, name="WatchlistEntryPatch")
IMPORT_MAX_BYTES = 2 * 1024 * 1024


def _keeper(p: Principal) -> frozenset[str]:
    """The sites of an operator who keeps the list (403 without the role)."""
    if "watchlist" not in p.operator_roles:
        raise Forbidden("This needs the operator role 'watchlist'.", code="ROLE_REQUIRED")
    return p.operator_sites


@router.get("/ops/v1/watchlist", response_model=EntryPage, openapi_extra=ADDITION, summary="Watchlist entries",
            responses=error_responses(400, 401, 403))
async def listing(op: CurrentOperator, db: DatabaseDep,
                  q: Annotated[str, Query(max_length=80, description="Part of a name or email.")] = "",
                  page: Annotated[int, Query(ge=0, le=100_000)] = 0,
                  size: Annotated[int, Query(ge=1, le=500)] = 50):
    return await service.listing(db, _keeper(op), search=q, page=page, size=size)


@router.post("/ops/v1/watchlist", response_model=EntryOut, status_code=201,
             openapi_extra={**_entry_body.openapi_extra, **ADDITION}, summary="Add an entry",
             responses=error_responses(400, 401, 403, 413, 415))
async def create(op: CurrentOperator, db: DatabaseDep,
                 body: Annotated[EntryIn, Depends(_entry_body)]):
    return await service.create(db, _keeper(op), op.display_name, body)


@router.post("/ops/v1/watchlist/import", response_model=ImportOut, status_code=201, summary=(
    "Import entries from CSV (header row firstName,lastName,email,dateOfBirth,reason,site,expiresOn); all or none"),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}},
                   **ADDITION}, responses=error_responses(400, 401, 403, 413, 415))
async def import_csv(op: CurrentOperator, db: DatabaseDep, request: Request):
    sites = _keeper(op)
    if not (request.headers.get("content-type") or "").lower().startswith(("text/csv", "text/plain")):
        raise UnsupportedMediaType("The body must be CSV (Content-Type: text/csv).")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > IMPORT_MAX_BYTES:
            raise PayloadTooLarge(f"At most {IMPORT_MAX_BYTES // 1024 // 1024} MiB of CSV per import.")
    return await service.import_csv(db, sites, op.display_name, bytes(data))


@router.get("/ops/v1/watchlist/{entryId}", response_model=EntryOut, openapi_extra=ADDITION, summary="An entry",
            responses=error_responses(400, 401, 403, 404))
async def detail(op: CurrentOperator, db: DatabaseDep, entryId: EntryId):
    return await service.detail(db, _keeper(op), entryId)


@router.patch("/ops/v1/watchlist/{entryId}", response_model=EntryOut,
              openapi_extra={**_patch_body.openapi_extra, **ADDITION}, summary="Change an entry",
              responses=error_responses(400, 401, 403, 404, 413, 415))
async def update(op: CurrentOperator, db: DatabaseDep, entryId: EntryId,
                 body: Annotated[EntryPatch, Depends(_patch_body)]):
    return await service.update(db, _keeper(op), entryId, body)


@router.delete("/ops/v1/watchlist/{entryId}", status_code=204, response_class=Response, openapi_extra=ADDITION,
               summary="Remove an entry", responses=error_responses(400, 401, 403, 404))
async def delete(op: CurrentOperator, db: DatabaseDep, entryId: EntryId) -> Response:
    await service.delete(db, _keeper(op), entryId)
    return Response(status_code=204)
