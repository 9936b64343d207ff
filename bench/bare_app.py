"""The baseline: a bare endpoint of the same framework returning the same bytes, served by the
same server with the same settings. BENCH_BARE_BODY: a file whose bytes every /bare call returns;
BENCH_BARE_FILE: a stored blob /bare-file streams the way Gatehouse streams downloads."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

app = FastAPI()
BODY = open(os.environ["BENCH_BARE_BODY"], "rb").read() if os.environ.get("BENCH_BARE_BODY") else b"{}"
FILE = os.environ.get("BENCH_BARE_FILE", "")


@app.api_route("/bare", methods=["GET", "POST", "PUT"])
async def bare(request: Request) -> Response:
    async for _ in request.stream():  # read the body like a real endpoint must
        pass
    return Response(BODY, media_type="application/json")


@app.get("/bare-file")
async def bare_file() -> StreamingResponse:
    async def chunks():  # type: ignore[no-untyped-def]
        with open(FILE, "rb") as fh:
            while chunk := fh.read(256 * 1024):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")
