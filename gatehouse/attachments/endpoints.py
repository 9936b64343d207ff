"""Seed 000 (files on a work order) and seed 002 (staged files), on the same /v1/attachments
paths: `WO` + 7 digits is a work order, a hyphenated uuid is a staged file, anything else 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from gatehouse.attachments import service
from gatehouse.attachments.filetypes import MEDIA_TYPES
from gatehouse.attachments.schemas import (
    DeletedOut,
    StagedAttachmentOut,
    UploadedWorkOrderAttachmentOut,
    WorkOrderAttachmentOut,
)
from gatehouse.attachments.storage import Storage
from gatehouse.auth.dependencies import (
    CanRead,
    CanWriteAttachments,
    CurrentCustomer,
    account_context,
    account_headers_when,
)
from gatehouse.facility_access.repository import WORK_ORDER_ID
from gatehouse.kit.db import DatabaseDep, SessionDep
from gatehouse.kit.deps import SettingsDep
from gatehouse.kit.errors import Forbidden, error_responses

router = APIRouter(tags=["Attachments"])
ADDITION = {"x-gatehouse-addition": True}


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


StorageDep = Annotated[Storage, Depends(get_storage)]


def _multipart(*names: str) -> dict:
    """Documented by hand: the body is parsed as a stream, not by FastAPI's form handling."""
    props = {name: {"type": "string", "format": "binary"} for name in names}
    schema: dict = {"type": "object", "properties": props, "additionalProperties": False}
    if len(names) == 1:
        schema["required"] = list(names)
    else:  # exactly one of the accepted part names
        schema.update(minProperties=1, maxProperties=1)
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


# Files are served with the media type of their extension (nosniff), so each is documented.
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE_CONTENT = {media: _BINARY for media in ["application/octet-stream",
                                               *sorted({m.split(";")[0] for m in MEDIA_TYPES.values()})]}
_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file, with the media type of its extension", "content": _FILE_CONTENT},
    206: {"description": "Part of the file (Range)", "content": _FILE_CONTENT},
    304: {"description": "Not modified (If-None-Match)"},
}


_send = service.response_of


@router.post(
    "/v1/attachments",
    response_model=UploadedWorkOrderAttachmentOut,
    summary="Upload a file to a work order (multipart part `file`)",
    responses=error_responses(400, 401, 403, 404, 409, 413, 415),
    openapi_extra=_multipart("file"),
)
async def upload_work_order_attachment(
    ctx: CanWriteAttachments, db: DatabaseDep, storage: StorageDep, settings: SettingsDep, request: Request,
    requestId: Annotated[str, Query(max_length=20, description="The work order, e.g. WO9271561.")],
    file_name: Annotated[str, Query(max_length=100, description="Name of the file; decides its type.")],
):
    return await service.upload_to_work_order(db, storage, settings, ctx, request, requestId, file_name)


@router.post(
    "/v1/attachments/file",
    response_model=StagedAttachmentOut,
    status_code=201,
    summary="Upload a staged file (multipart part `uploadFile`; `file` also accepted), referenced by id later",
    responses=error_responses(400, 401, 403, 413, 415),
    openapi_extra=_multipart("uploadFile", "file"),
)
async def upload_staged_attachment(
    principal: CurrentCustomer, db: DatabaseDep, storage: StorageDep, settings: SettingsDep, request: Request,
    purpose: Annotated[str | None, Query(max_length=20, json_schema_extra={"enum": list(service.PURPOSES)})] = None,
):
    return await service.upload_staged(db, storage, settings, principal, request, purpose)


@router.get(
    "/v1/attachments/{attachmentId}",
    response_model=list[WorkOrderAttachmentOut] | StagedAttachmentOut,
    summary="A work order's attachments (WO id, account headers needed) or a staged file's metadata (uuid)",
    responses=error_responses(400, 401, 403, 404),
    # read by account_context for a work order's list; a staged file is the caller's own
    openapi_extra={"parameters": account_headers_when("when attachmentId is a work order id")},
)
async def get_attachments(
    principal: CurrentCustomer, session: SessionDep, request: Request,
    attachmentId: Annotated[str, Path(max_length=40, description="WO1234567, or a staged attachment uuid.")],
):
    if WORK_ORDER_ID.match(attachmentId):
        ctx = await account_context(request, principal)
        if "tickets:read" not in ctx.permissions:
            raise Forbidden(code="PERMISSION_DENIED")
        return await service.list_work_order(session, ctx.account_id, attachmentId)
    if service.UUID_RE.match(attachmentId):
        return await service.staged_metadata(session, principal, attachmentId)
    raise service.attachment_not_found()


@router.get(
    "/v1/attachments/{ticketId}/file/{id}",
    response_class=StreamingResponse,
    summary="Download a work order's file (Range, ETag, If-None-Match)",
    responses={**_FILE_RESPONSES, **error_responses(400, 401, 403, 404, 416)},
)
async def download_work_order_file(
    ctx: CanRead, db: DatabaseDep, storage: StorageDep,
    ticketId: Annotated[str, Path(max_length=20)], id: Annotated[str, Path(max_length=40)],
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
):
    found = None
    if WORK_ORDER_ID.match(ticketId):
        # One lean query, done before a byte is streamed: a slow reader never holds a database
        # connection (a few of them would exhaust the pool).
        found = await service.repository.work_order_file(db.reader, ctx.account_id, ticketId, id)
    if found is None:
        raise service.attachment_not_found()
    filename, blob = found
    return _send(service.download(storage, blob, filename, range_, if_none_match))


@router.get(
    "/v1/attachments/{attachmentId}/file",
    response_class=StreamingResponse,
    summary="Download a staged file",
    responses={**_FILE_RESPONSES, **error_responses(400, 401, 403, 404, 416)},
    openapi_extra=ADDITION,
)
async def download_staged_file(
    principal: CurrentCustomer, db: DatabaseDep, storage: StorageDep,
    attachmentId: Annotated[str, Path(max_length=40)],
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
):
    found = None
    if service.UUID_RE.match(attachmentId):
        async with db.read() as session:  # closed before streaming, as above
            found = await service.repository.staged(session, principal.user_id, attachmentId)
    if found is None:
        raise service.attachment_not_found()
    staged, blob = found
    return _send(service.download(storage, blob, staged.name, range_, if_none_match))


@router.delete(
    "/v1/attachments/{attachmentId}",
    response_model=DeletedOut,
    summary="Delete a staged file (its copies linked to work orders stay)",
    responses=error_responses(400, 401, 403, 404),
)
async def delete_staged_attachment(
    principal: CurrentCustomer, db: DatabaseDep, storage: StorageDep,
    attachmentId: Annotated[str, Path(max_length=40)],
):
    if not service.UUID_RE.match(attachmentId):
        raise service.attachment_not_found()
    return await service.delete_staged(db, storage, principal, attachmentId)
