"""Streaming a multipart upload into storage: parsed as it arrives, hashed and size-checked on
the way, never buffered whole nor spooled to a temporary file."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from gatehouse.attachments.filetypes import ContentSniffer
from gatehouse.kit.errors import BadRequest, ErrorDetail, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

# multipart framing around the file: boundaries, part headers, small extra fields
FRAMING_ALLOWANCE = 64 * 1024
MAX_BOUNDARY = 70


@dataclass
class Received:
    size: int
    sha256: str
    part_filename: str | None


def check_declared_length(request: Request, max_bytes: int) -> None:
    """Refuse at once what cannot fit, before a byte is read or stored."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise BadRequest("Header 'Content-Length' is not a number.", code="INVALID_HEADER") from None
    if length > max_bytes + FRAMING_ALLOWANCE:
        raise PayloadTooLarge(f"The file exceeds the limit of {max_bytes} bytes.", code="FILE_TOO_LARGE")


def boundary_of(request: Request) -> bytes:
    media, params = parse_options_header(request.headers.get("content-type", ""))
    if media != b"multipart/form-data" or not params.get(b"boundary"):
        raise UnsupportedMediaType("Send the file as multipart/form-data.", code="UNSUPPORTED_MEDIA_TYPE")
    boundary = params[b"boundary"]
    if len(boundary) > MAX_BOUNDARY:  # RFC 2046 allows 70; the parser refuses more than 256
        raise BadRequest(f"The multipart boundary must be 1-{MAX_BOUNDARY} characters (RFC 2046).",
                         code="INVALID_HEADER")
    return boundary


class _Parts:
    """Collects parser events; the parser's callbacks are synchronous, the storage is not."""

    def __init__(self, names: Collection[str], on_filename: Callable[[str], None] | None,
                 guards: Mapping[str, Callable[[str], None]] | None = None) -> None:
        self.names = names
        self.on_filename = on_filename
        self.guards = guards or {}
        self.guard: str | None = None  # the guard field being read, and its bytes so far
        self.guard_value = b""
        self.guarded: set[str] = set()  # guards already checked
        self.field = b""
        self.value = b""
        self.headers: dict[bytes, bytes] = {}
        self.active = False
        self.found: str | None = None
        self.part_filename: str | None = None
        self.pending: list[bytes] = []
        self.problem: Exception | None = None
        self.complete = False

    def on_part_begin(self) -> None:
        self.headers = {}
        self.active = False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.field.strip().lower()] = self.value.strip()
        self.field = self.value = b""

    def on_headers_finished(self) -> None:
        _disp, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if self.problem is not None:
            return
        if name in self.guards and self.found is None and b"filename" not in params:
            # a small text field checked before any file byte is taken (the console's CSRF token)
            self.guard, self.guard_value = name, b""
            return
        if name not in self.names:
            # like unknown JSON fields: a misspelt part name must not be silently ignored
            shown = name[:40]
            self.problem = ValidationFailed([ErrorDetail(
                field=shown, code="UNKNOWN_FIELD",
                message=f"Multipart part '{shown}' is not recognised; send the file as "
                        f"'{next(iter(self.names))}'.")])
            return
        if self.found is not None:
            self.problem = ValidationFailed([ErrorDetail(
                field=name, code="DUPLICATE_FILE", message="Send exactly one file per upload.")])
            return
        for missing in sorted(set(self.guards) - self.guarded):  # a guard that never came is checked as empty
            try:
                self.guards[missing]("")
            except Exception as exc:
                self.problem = exc
                return
        filename = params.get(b"filename")
        if filename is None:
            self.problem = ValidationFailed([ErrorDetail(
                field=name, code="NOT_A_FILE",
                message=f"Multipart part '{name}' must be a file (curl: --form '{name}=@path/to/file'), "
                        "not a text value.")])
            return
        self.found = name
        self.part_filename = filename.decode("utf-8", "replace")
        if self.on_filename is not None:
            try:
                self.on_filename(self.part_filename)
            except Exception as exc:  # surfaced after parser.write returns
                self.problem = exc
                return
        self.active = True

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.active:
            self.pending.append(bytes(data[start:end]))
        elif self.guard is not None and len(self.guard_value) <= 1024:
            self.guard_value += data[start:end]

    def on_part_end(self) -> None:
        if self.active:
            self.complete = True
        self.active = False
        if self.guard is not None and self.problem is None:
            name, value, self.guard = self.guard, self.guard_value, None
            self.guarded.add(name)
            try:
                self.guards[name](value.decode("utf-8", "replace"))
            except Exception as exc:  # surfaced after parser.write returns
                self.problem = exc


HASH_BATCH = 512 * 1024


class _Hasher:
    """SHA-256 on a thread, a batch at a time, while the event loop goes on parsing, writing and
    waiting for the next bytes (hashlib lets go of the GIL): the hash was a quarter of an upload's
    time on the loop (py-spy). Batches keep the thread hops few; one batch in flight at a time keeps
    the order and bounds the memory held."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.batch: list[bytes] = []
        self.batched = 0
        self.running: asyncio.Future | None = None

    def _update(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.digest.update(chunk)

    async def update(self, data: bytes) -> None:
        self.batch.append(data)
        self.batched += len(data)
        if self.batched >= HASH_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        if self.running is not None:
            await self.running
        chunks, self.batch, self.batched = self.batch, [], 0
        self.running = asyncio.get_running_loop().run_in_executor(None, self._update, chunks) if chunks else None

    async def hexdigest(self) -> str:
        await self._flush()
        if self.running is not None:
            await self.running
        return self.digest.hexdigest()


class ChunkSink(Protocol):
    """Where the file's bytes go, in order (a storage writer, or one wrapped by a heartbeat)."""

    async def write(self, chunk: bytes) -> None: ...


async def receive(request: Request, writer: ChunkSink, *, part_names: Collection[str], max_bytes: int,
                  sniffer: ContentSniffer, on_filename: Callable[[str], None] | None = None,
                  guards: Mapping[str, Callable[[str], None]] | None = None) -> Received:
    """`on_filename` sees the file part's own filename before its content (and may refuse it).
    `guards`: text parts allowed before the file, each checked (and able to refuse) as it ends."""
    boundary = boundary_of(request)
    parts = _Parts(part_names, on_filename, guards)
    parser = MultipartParser(boundary, {
        "on_part_begin": parts.on_part_begin, "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value, "on_header_end": parts.on_header_end,
        "on_headers_finished": parts.on_headers_finished, "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end,
    })
    digest = _Hasher()
    size = 0
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_bytes + FRAMING_ALLOWANCE * 16:
                raise PayloadTooLarge(f"The file exceeds the limit of {max_bytes} bytes.", code="FILE_TOO_LARGE")
            parser.write(chunk)
            if parts.problem is not None:
                raise parts.problem
            for data in parts.pending:
                size += len(data)
                if size > max_bytes:
                    raise PayloadTooLarge(f"The file exceeds the limit of {max_bytes} bytes.", code="FILE_TOO_LARGE")
                await digest.update(data)
                sniffer.feed(data)
                await writer.write(data)
            parts.pending.clear()
        parser.finalize()
        sha256 = await digest.hexdigest()
    except MultipartParseError as exc:
        raise BadRequest(f"The multipart body is malformed: {exc}.", code="MALFORMED_MULTIPART") from None
    except ClientDisconnect:
        raise
    if parts.found is None:
        names = "' or '".join(part_names)
        raise ValidationFailed([ErrorDetail(field=next(iter(part_names)), code="MISSING_FIELD",
                                            message=f"Multipart file part '{names}' is missing.")])
    if not parts.complete:
        raise BadRequest("The multipart body ended before the file part was complete.", code="MALFORMED_MULTIPART")
    return Received(size, sha256, parts.part_filename)
