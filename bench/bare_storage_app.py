"""Download baseline for bench/attachments_bench.py: a bare FastAPI endpoint streaming one stored
blob straight from the storage backend, with no auth, database or headers of its own.
BENCH_BARE_FILE: a local file; or BENCH_BARE_S3 = "<endpoint>|<bucket>|<key>" (one client per process)."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
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
