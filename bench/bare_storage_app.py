"""Download baseline for bench/attachments_bench.py: a bare FastAPI endpoint streaming one stored
blob straight from the storage backend, with no auth, database or headers of its own.
BENCH_BARE_FILE: a local file; or BENCH_BARE_S3 = "<endpoint>|<bucket>|<key>" (one client per process).
Also the upload's floor (`/bare-drain`, `/bare-store`, BENCH_BARE_UPLOADS: the folder it writes to)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

CHUNK = 256 * 1024
FILE = os.environ.get("BENCH_BARE_FILE", "")
S3 = os.environ.get("BENCH_BARE_S3", "")
state: dict = {}


@asynccontextmanager
async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
    if S3:
        from aiobotocore.session import get_session

        endpoint, _bucket, _key = S3.split("|")
        ctx = get_session().create_client("s3", endpoint_url=endpoint,
                                          region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        state["s3"] = await ctx.__aenter__()
        yield
        await ctx.__aexit__(None, None, None)
    else:
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/bare")
async def bare() -> Response:
    return Response(b"{}", media_type="application/json")


@app.get("/bare-file")
async def bare_file() -> StreamingResponse:
    if S3:
        _endpoint, bucket, key = S3.split("|")
        resp = await state["s3"].get_object(Bucket=bucket, Key=key)

        async def s3_chunks():  # type: ignore[no-untyped-def]
            async with resp["Body"] as body:
                while chunk := await body.read(CHUNK):
                    yield chunk

        return StreamingResponse(s3_chunks(), media_type="application/octet-stream")

    async def chunks():  # type: ignore[no-untyped-def]
        with open(FILE, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


# --- the upload's floor: what any server must do to receive a file over HTTP -------------------------
# Not a baseline of §7 (that is SHA-256 + write + fsync with no network): these show how much of the
# baseline's time the HTTP transfer alone takes on this machine, so the upload ratio can be read.
UPLOADS = os.environ.get("BENCH_BARE_UPLOADS", "")
BATCH = 1024 * 1024


@app.post("/bare-drain")
async def bare_drain(request: Request) -> Response:
    """Reads the body and keeps nothing: the transfer alone."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
    return Response(b'{"size":%d}' % size, media_type="application/json")


@app.post("/bare-store")
async def bare_store(request: Request) -> Response:
    """The body hashed and written on a thread a MiB at a time while the next MiB arrives, the disk
    started on each MiB written (write-behind), fsync at the end: Gatehouse's own pipeline with no
    multipart, database or checks."""
    digest = hashlib.sha256()
    path = os.path.join(UPLOADS, uuid.uuid4().hex)
    fh = open(path, "wb")
    done = {"written": 0, "kicked": 0}

    def work(chunks: list[bytes]) -> None:
        for chunk in chunks:
            digest.update(chunk)
            fh.write(chunk)
            done["written"] += len(chunk)
        fh.flush()
        os.posix_fadvise(fh.fileno(), done["kicked"], done["written"] - done["kicked"], os.POSIX_FADV_DONTNEED)
        done["kicked"] = done["written"]

    def finish(chunks: list[bytes]) -> None:
        work(chunks)
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        fh.close()
        os.unlink(path)

    loop = asyncio.get_running_loop()
    running: asyncio.Future | None = None
    batch: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            if running is not None:
                await running
            running = loop.run_in_executor(None, work, batch)
            batch, size = [], 0
    if running is not None:
        await running
    await asyncio.to_thread(finish, batch)
    return Response(b'{"sha256":"%s"}' % digest.hexdigest().encode(), media_type="application/json")
