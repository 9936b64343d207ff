"""Attachments: streamed uploads (work order and staged), listing, downloads, deletion, sweeps."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar
from urllib.parse import quote

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gatehouse.attachments import repository
from gatehouse.attachments.filetypes import (
    DETECT,
    MEDIA_TYPES,
    STAGED_EXTENSIONS,
    WORK_ORDER_EXTENSIONS,
    ContentSniffer,
    extension_of,
    sanitize_name,
)
from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.attachments.storage import BlobWriter, Storage
from gatehouse.attachments.upload import check_declared_length, receive
from gatehouse.auth.principal import AccountContext, Principal
from gatehouse.config import Settings
from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access import repository as tickets
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import (
    ErrorDetail,
    Forbidden,
    GatehouseError,
    NotFound,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from gatehouse.kit.leanread import TxRows
from gatehouse.kit.leanwrite import Statement
from gatehouse.kit.leanwrite import insert as lean_insert
from gatehouse.kit.leanwrite import update as lean_update
from gatehouse.kit.wire import fmt_datetime, fmt_iso_ms

T = TypeVar("T")
log = logging.getLogger("gatehouse.attachments")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PENDING_GRACE = timedelta(minutes=15)
PURPOSES = ("LOA", "PO_DOCUMENT")


class RangeNotSatisfiable(GatehouseError):
    status_code = 416
    default_code = "RANGE_NOT_SATISFIABLE"
    default_message = "The requested range cannot be served."


def request_id_invalid() -> NotFound:
    return NotFound("The requestId does not identify a ticket of this account.", code="REQUEST_ID_INVALID")


def attachment_not_found() -> NotFound:
    return NotFound("The attachment was not found.", code="ATTACHMENT_NOTFOUND")


def checked_name(raw: str, field: str, allowed: frozenset[str], bare: bool = False) -> tuple[str, str]:
    """The display name and its extension. `bare`: a name without any extension is kept as given and
    its type told from the content (the extension DETECT), as the real API took `file_name=test`."""
    name = sanitize_name(raw)
    if not name:
        raise ValidationFailed([ErrorDetail(field=field, code="INVALID_FILE_NAME",
                                            message=f"'{field}' must be a file name.")])
    ext = extension_of(name)
    if bare and "." not in name:
        return name, DETECT
    if ext not in allowed:
        raise UnsupportedMediaType(
            f"Files of type '.{ext}' are not allowed; allowed: {', '.join(sorted(allowed))}." if ext else
            f"The file name must have one of the extensions: {', '.join(sorted(allowed))}.",
            code="FILE_TYPE_NOT_ALLOWED")
    return name, ext


class _Heartbeat:
    """Wraps the upload's writer: every `every` seconds of upload it refreshes the pending blob's
    heartbeat, so no sweep (in any process) takes a live upload's blob; and it finds out early,
    with a clean 503, when a sweep took the blob of an upload that had stalled too long."""

    def __init__(self, db: Database, writer: BlobWriter, blob_id: str, every: float) -> None:
        self.db = db
        self.writer = writer
        self.blob_id = blob_id
        self.every = every
        self.last = time.monotonic()

    async def touch(self) -> None:
        async with self.db.write() as session:
            done = await session.execute(update(Blob).where(Blob.id == self.blob_id, Blob.state == "pending")
                                         .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
        if affected(done) != 1:
            raise _discarded()
        self.last = time.monotonic()

    async def write(self, chunk: bytes) -> None:
        await self.writer.write(chunk)
        if time.monotonic() - self.last >= self.every:
            await self.touch()


def _discarded() -> ServiceUnavailable:
    return ServiceUnavailable("The upload was discarded by a storage sweep; please retry.", code="UPLOAD_DISCARDED",
                              headers={"Retry-After": "1"})


# the blob an upload registered, still its own (a sweep may have taken a stalled one), locked until
# its reference commits
PENDING_BLOB = select(Blob.id).where(Blob.id == bindparam("id"), Blob.state == bindparam("state")).with_for_update()


@dataclass(frozen=True)
class RecordPlan(Generic[T]):
    """What a record plan makes in the upload's closing transaction: its rows, whether they queue
    outbox messages, and the answer."""

    statements: list[Statement]
    queued: bool
    answer: T


async def _store(db: Database, storage: Storage, settings: Settings, request: Request, *, extension: str | None,
                 part_names: tuple[str, ...], make_record: Callable[[TxRows, Blob, str | None], Awaitable[RecordPlan[T]]],
                 on_filename: Callable[[str], str] | None = None,
                 guards: Mapping[str, Callable[[str], None]] | None = None) -> T:
    """Pending row first, then bytes, then (one transaction) committed blob + its record.
    Any failure on the way removes both the object and the row. Both transactions are the lean
    writer's (one statement each on PostgreSQL): through the ORM they were a fifth of an upload's time."""
    blob_id = uuid.uuid4().hex
    key = blob_id  # generated: never derived from anything a client sent
    now = utcnow()
    await db.lean.run([lean_insert(Blob.__table__, {"id": blob_id, "storage_key": key, "state": "pending",
                                                    "created_at": now, "heartbeat_at": now})])
    writer = None
    object_written = False
    try:
        writer = await storage.writer(key)
        beat = _Heartbeat(db, writer, blob_id, settings.upload_heartbeat_seconds)
        sniffer = ContentSniffer(extension)
        hook = None if on_filename is None else (lambda name: sniffer.set_extension(on_filename(name)))
        got = await receive(request, beat, part_names=part_names, max_bytes=settings.max_upload_bytes,
                            sniffer=sniffer, on_filename=hook, guards=guards)
        if not sniffer.agrees():
            raise UnsupportedMediaType(
                f"The file's content is not a valid .{sniffer.ext} file." if sniffer.ext else
                "The file name has no extension and its content is none of the allowed types "
                f"({', '.join(sorted(WORK_ORDER_EXTENSIONS))}).", code="FILE_CONTENT_MISMATCH")
        extension = sniffer.ext  # what the content was found to be, when the name did not say
        # A heartbeat younger than one interval is fresh enough for the rename and commit below: the
        # sweep waits for silence of the whole grace period (at least three intervals).
        if time.monotonic() - beat.last >= beat.every:
            await beat.touch()
        try:
            await writer.commit()
        except FileNotFoundError:  # the partial file was swept while this upload stalled
            raise _discarded() from None
        object_written = True
        values = {"state": "committed", "size": got.size, "sha256": got.sha256,
                  "content_type": MEDIA_TYPES.get(extension, "application/octet-stream")}
        blob = Blob(id=blob_id, storage_key=key, **values)
        made: RecordPlan[T] | None = None

        async def plan(tx: TxRows) -> tuple[list[Statement], bool]:
            nonlocal made
            if not await tx.rows(PENDING_BLOB, id=blob_id, state="pending"):
                raise _discarded()
            made = await make_record(tx, blob, got.part_filename)
            committed = lean_update(Blob.__table__, values, {"id": blob_id, "state": "pending"})
            return [committed, *made.statements], made.queued

        await db.lean.run([], plan=plan)
        assert made is not None  # the plan ran, or run() raised
        return made.answer
    except BaseException:
        await asyncio.shield(_discard(db, storage, key, blob_id, writer, object_written))
        raise


async def _discard(db: Database, storage: Storage, key: str, blob_id: str, writer, object_written: bool) -> None:
    try:
        async with db.write() as session:  # only ever a blob this upload still owns
            gone = await session.execute(delete(Blob).where(Blob.id == blob_id, Blob.state == "pending"))
        if writer is not None and not object_written:
            await writer.abort()
        elif affected(gone) == 1:
            await storage.delete(key)
    except Exception:
        log.warning("could not discard pending blob %s; the sweep will", blob_id, exc_info=True)


def present_work_order_file(a: Attachment, blob: Blob) -> dict:
    return {"id": a.id, "contentType": "multipart/form-data", "filename": a.filename, "hash": blob.sha256,
            "createdBy": a.created_by, "createdOn": fmt_datetime(a.created_at)}


async def upload_to_work_order(db: Database, storage: Storage, settings: Settings, ctx: AccountContext,
                               request: Request, request_id: str, file_name: str | None) -> dict:
    """`file_name` is the API's query parameter; None (the console's form) takes the part's own name."""
    named: dict[str, str] = {}
    ext = None
    if file_name is not None:
        named["name"], ext = checked_name(file_name, "file_name", WORK_ORDER_EXTENSIONS, bare=True)
    # refuse before reading a byte of the body (the lean reader: an ORM session was 1-2 ms of an upload)
    ticket = await db.reader.rows(tickets.TICKET_STATE, account_id=ctx.account_id, id=request_id)
    if not ticket:
        raise request_id_invalid()
    lifecycle.ensure_open(WorkOrder(**ticket[0]), "attachments")
    check_declared_length(request, settings.max_upload_bytes)

    def part_name(raw: str) -> str:
        named["name"], part_ext = checked_name(raw, "file", WORK_ORDER_EXTENSIONS)
        return part_ext

    async def record(tx: TxRows, blob: Blob, _part_name: str | None) -> RecordPlan[dict]:
        if "name" not in named:
            raise ValidationFailed([ErrorDetail(field="file", code="MISSING_FIELD",
                                                message="Part 'file' must carry the file's name.")])
        found = await tx.rows(tickets.TICKET_HELD, account_id=ctx.account_id, id=request_id)
        if not found:
            raise request_id_invalid()
        current = WorkOrder(**found[0])
        lifecycle.ensure_open(current, "attachments")
        row = {"id": uuid.uuid4().hex, "work_order_id": request_id, "blob_id": blob.id, "filename": named["name"],
               "created_by": ctx.display_name, "user_id": ctx.user_id, "created_at": utcnow()}
        attachment = Attachment(**row)
        event = events.new_event("attachment.created", object_id=request_id, account_id=current.account_id,
                                 site_code=current.site_code, data={"attachmentId": attachment.id, "size": blob.size},
                                 at=attachment.created_at)
        # the webhook planner presents the new file from these, as GET does (its row is not in yet)
        more, queued = await events.statements_of(tx, event, {"attachment": (attachment, blob)})
        return RecordPlan([lean_insert(Attachment.__table__, row), *more], queued,
                        {**present_work_order_file(attachment, blob), "ticketId": request_id})

    return await _store(db, storage, settings, request, extension=ext, part_names=("file",), make_record=record,
                        on_filename=None if file_name is not None else part_name)


async def list_work_order(session: AsyncSession, account_id: str, ticket_id: str) -> list[dict]:
    ticket = await tickets.get_ticket(session, account_id, ticket_id)
    if ticket is None:
        raise NotFound("The ticket was not found.", code="TICKET_NOTFOUND")
    rows = await repository.list_for_ticket(session, ticket_id)
    blobs = {b.id: b for b in (await session.execute(
        select(Blob).where(Blob.id.in_({a.blob_id for a in rows})))).scalars()} if rows else {}
    return [present_work_order_file(a, blobs[a.blob_id]) for a in rows if a.blob_id in blobs]


def _staged_out(s: StagedAttachment) -> dict:
    return {"attachmentId": s.id, "attachmentName": s.name, "attachmentType": s.extension,
            "attachmentSize": s.size, "createdDate": fmt_iso_ms(s.created_at), "createdBy": s.created_by,
            "lastUpdatedDate": fmt_iso_ms(s.last_updated_at)}


async def upload_staged(db: Database, storage: Storage, settings: Settings, principal: Principal,
                        request: Request, purpose: str | None,
                        guards: Mapping[str, Callable[[str], None]] | None = None) -> dict:
    if not principal.has_permission_anywhere("attachments:write"):
        raise Forbidden(code="PERMISSION_DENIED")
    if purpose is not None and purpose not in PURPOSES:
        raise ValidationFailed([ErrorDetail(field="purpose", code="INVALID_VALUE",
                                            message="Query parameter 'purpose' must be one of: LOA, PO_DOCUMENT.")])
    check_declared_length(request, settings.max_upload_bytes)
    named: dict[str, str] = {}

    def check_part_name(raw: str) -> str:
        name, ext = checked_name(raw, "uploadFile", STAGED_EXTENSIONS)
        named.update(name=name, ext=ext)
        return ext

    async def record(tx: TxRows, blob: Blob, _part_name: str | None) -> RecordPlan[dict]:
        now = utcnow()
        staged_id = str(uuid.uuid4())
        row = {"id": staged_id, "user_id": principal.user_id, "blob_id": blob.id, "name": named["name"],
               "extension": named["ext"], "size": blob.size, "purpose": purpose, "created_by": principal.display_name,
               "created_at": now, "last_updated_at": now,
               "expires_at": now + timedelta(days=settings.staged_attachment_days)}
        event = events.new_event("attachment.created", object_id=staged_id,
                                 data={"attachmentId": staged_id, "size": blob.size, "staged": True}, at=now)
        more, queued = await events.statements_of(tx, event, {})
        return RecordPlan([lean_insert(StagedAttachment.__table__, row), *more], queued,
                        _staged_out(StagedAttachment(**row)))

    return await _store(db, storage, settings, request, extension=None, part_names=("uploadFile", "file"),
                        make_record=record, on_filename=check_part_name, guards=guards)


async def staged_metadata(session: AsyncSession, principal: Principal, attachment_id: str) -> dict:
    found = await repository.staged(session, principal.user_id, attachment_id)
    if found is None:
        raise attachment_not_found()
    return _staged_out(found[0])


async def delete_staged(db: Database, storage: Storage, principal: Principal, attachment_id: str) -> dict:
    async with db.write() as session:
        found = await repository.staged(session, principal.user_id, attachment_id)
        if found is None:
            raise attachment_not_found()
        staged, blob = found
        await session.delete(staged)
        await events.record(session, "attachment.deleted", object_id=staged.id,
                            data={"attachmentId": staged.id, "staged": True})
        await session.flush()
        orphan = not await repository.blob_is_referenced(session, blob.id)
        if orphan:
            await session.execute(delete(Blob).where(Blob.id == blob.id))
    if orphan:
        await storage.delete(blob.storage_key)
    return {"status": True}


# --- downloads ---------------------------------------------------------------------------------------


@dataclass
class Download:
    body: AsyncIterator[bytes] | None
    status: int
    headers: dict[str, str]
    media_type: str


def response_of(d: Download) -> Response:
    """The answer of a download: the file streamed, or (304) its headers only."""
    if d.body is None:
        return Response(status_code=d.status, headers=d.headers)
    return StreamingResponse(d.body, status_code=d.status, headers=d.headers, media_type=d.media_type)


def _disposition(name: str) -> str:
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single `bytes=a-b` range -> (start, end) inclusive; None = whole file; 416 if unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    spec = header[6:].strip()
    first, dash, last = spec.partition("-")
    if not dash:
        return None
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                raise ValueError
            start, end = max(0, size - length), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        return None
    if start < 0 or start >= size or end < start:
        raise RangeNotSatisfiable(f"Range {spec} is outside the file of {size} bytes.",
                                  headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


def download(storage: Storage, blob: Blob, name: str, range_header: str | None, if_none_match: str | None
             ) -> Download:
    etag = f'"{blob.sha256}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff",
               "Content-Disposition": _disposition(name), "Cache-Control": "private, no-cache"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Download(None, 304, headers, blob.content_type)
    rng = parse_range(range_header, blob.size) if blob.size else None
    if rng is None:
        headers["Content-Length"] = str(blob.size)
        return Download(storage.read(blob.storage_key), 200, headers, blob.content_type)
    start, end = rng
    headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    headers["Content-Length"] = str(end - start + 1)
    return Download(storage.read(blob.storage_key, start, end), 206, headers, blob.content_type)


# --- periodic jobs -------------------------------------------------------------------------------------


async def sweep_pending_blobs(db: Database, storage: Storage, grace: timedelta = PENDING_GRACE) -> int:
    """Blobs whose upload died (a crash, a killed process): pending rows whose heartbeat has been
    silent for `grace`. Each is first marked `sweeping` with a conditional UPDATE, so an upload
    that comes back to life finds its row gone from `pending` and fails with 503 instead of
    committing a record whose object is being deleted; then the object goes, then the row."""
    cutoff = utcnow() - grace
    stale_pending = (Blob.state == "pending") & (func.coalesce(Blob.heartbeat_at, Blob.created_at) < cutoff)
    async with db.read() as session:
        stale = (await session.execute(select(Blob.id, Blob.storage_key).where(
            stale_pending | (Blob.state == "sweeping")).limit(1000))).all()
    for blob_id, key in stale:
        async with db.write() as session:
            mine = await session.execute(update(Blob).where(Blob.id == blob_id, stale_pending | (Blob.state == "sweeping"))
                                         .values(state="sweeping").execution_options(synchronize_session=False))
        if affected(mine) != 1:
            continue
        await storage.delete(key)
        async with db.write() as session:
            await session.execute(delete(Blob).where(Blob.id == blob_id, Blob.state == "sweeping"))
    return len(stale)


async def purge_expired_staged(db: Database, storage: Storage) -> int:
    """Staged files past their 40 days: the record goes; the file too unless a work order uses it."""
    purged = 0
    while True:
        keys: list[str] = []
        async with db.write() as session:
            batch = (await session.execute(select(StagedAttachment).where(StagedAttachment.expires_at <= utcnow())
                                           .limit(500))).scalars().all()
            for staged in batch:
                await session.delete(staged)
            await session.flush()
            for blob_id in {s.blob_id for s in batch}:
                if not await repository.blob_is_referenced(session, blob_id):
                    blob = await session.get(Blob, blob_id)
                    if blob is not None:
                        keys.append(blob.storage_key)
                        await session.delete(blob)
        for key in keys:
            await storage.delete(key)
        purged += len(batch)
        if len(batch) < 500:
            return purged
