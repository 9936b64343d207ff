"""A client that dies mid-upload leaves neither a record nor a blob: real server, real socket,
on both backends (for S3 the kill comes after the first 5 MiB part, so a multipart upload is open)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from gatehouse.app import create_app
from gatehouse.attachments.models import Blob
from gatehouse.attachments.storage import open_storage
from tests.attachments.conftest import stored_objects
from tests.factories import make_ticket
from tests.net import free_port

MiB = 1024 * 1024


async def _blobs(db, state: str | None = None) -> int:  # type: ignore[no-untyped-def]
    query = select(func.count()).select_from(Blob)
    if state is not None:
        query = query.where(Blob.state == state)
    async with db.read() as s:
        return (await s.execute(query)).scalar()


@pytest.mark.parametrize("backend_name", ["local", "s3"])
async def test_client_killed_mid_upload_leaves_nothing(backend_name, request, factory, db, caplog):
    server_settings = request.getfixturevalue("settings" if backend_name == "local" else "s3_settings")
    probe = open_storage(server_settings.effective_storage_url)  # our own client, on this test's loop
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(server_settings), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        async with httpx.AsyncClient() as c:
            for _ in range(100):
                try:
                    if (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        before = await _blobs(db)
        objects_before = await stored_objects(probe)
        boundary = "xyzboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-"
                ).encode()
        auth = "".join(f"{k}: {v}\r\n" for k, v in caller.headers.items())
        request_head = (f"POST /v1/attachments?requestId={wo}&file_name=a.pdf HTTP/1.1\r\nHost: x\r\n{auth}"
                        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                        f"Content-Length: {9 * MiB}\r\n\r\n").encode() + head

        def send_part_then_die() -> None:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request_head)
            for _ in range(7 * 8):  # 7 of the 9 MiB announced
                sock.sendall(b"0" * (MiB // 8))
            time.sleep(1.0)  # the server is now mid-upload, with a pending blob
            sock.close()

        sender = asyncio.create_task(asyncio.to_thread(send_part_then_die))
        saw_pending = False
        while not sender.done():
            saw_pending = saw_pending or await _blobs(db, "pending") > 0
            await asyncio.sleep(0.05)
        await sender
        assert saw_pending  # the upload really was under way when the client died
        caplog.set_level(logging.INFO, logger="gatehouse")
        deadline = time.time() + 15
        while time.time() < deadline:
            now, objects_now = await _blobs(db), await stored_objects(probe)
            if now == before and objects_now == objects_before:
                break
            await asyncio.sleep(0.1)
        assert now == before
        assert objects_now == objects_before  # no object, no temp file, no open multipart upload
        async with httpx.AsyncClient() as c:  # and the server is healthy
            assert (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            r = await c.get(f"http://127.0.0.1:{port}/v1/attachments/{wo}", headers=caller.headers)
            assert r.status_code == 200 and r.json() == []
        # a client going away is not the server's error: no traceback in the error log
        assert not [r for r in caplog.records if r.name == "gatehouse.errors"], caplog.text
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        await probe.close()
