"""A client that dies mid-upload leaves neither a record nor a blob: real server, real socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import uvicorn
from sqlalchemy import func, select

from gatehouse.app import create_app
from gatehouse.attachments.models import Blob
from tests.factories import make_ticket
from tests.net import free_port


async def test_client_killed_mid_upload_leaves_nothing(settings, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
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
        async with db.read() as s:
            before = (await s.execute(select(func.count()).select_from(Blob))).scalar()
        boundary = "xyzboundary"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-"
                ).encode()
        auth = "".join(f"{k}: {v}\r\n" for k, v in caller.headers.items())
        request = (f"POST /v1/attachments?requestId={wo}&file_name=a.pdf HTTP/1.1\r\nHost: x\r\n{auth}"
                   f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {5 * 1024 * 1024}\r\n\r\n"
                   ).encode() + head

        def send_half() -> None:
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request)
            for _ in range(16):
                sock.sendall(b"0" * (128 * 1024))
            time.sleep(1.0)  # the server is now mid-upload, with a pending blob
            sock.close()

        sender = asyncio.create_task(asyncio.to_thread(send_half))
        saw_pending = False
        while not sender.done():
            async with db.read() as s:
                saw_pending = saw_pending or (await s.execute(
                    select(func.count()).select_from(Blob).where(Blob.state == "pending"))).scalar() > 0
            await asyncio.sleep(0.05)
        await sender
        assert saw_pending  # the upload really was under way when the client died
        deadline = time.time() + 10
        while time.time() < deadline:
            async with db.read() as s:
                now = (await s.execute(select(func.count()).select_from(Blob))).scalar()
            if now == before:
                break
            await asyncio.sleep(0.1)
        assert now == before
        assert not list((settings.data_dir / "blobs" / "tmp").iterdir())
        async with httpx.AsyncClient() as c:  # and the server is healthy
            assert (await c.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
