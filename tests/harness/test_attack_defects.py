"""Issue 8: the defects an attack found, each tried again against the real server (a real socket
where the defect lives in the transport), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn
from asgi_lifespan import LifespanManager
from sqlalchemy import select

from gatehouse.app import create_app
from gatehouse.attachments.models import Blob
from gatehouse.comments.models import Comment
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.server import server_options
from tests.factories import make_ticket
from tests.net import free_port

MiB = 1024 * 1024


@contextmanager
def real_server(settings):  # type: ignore[no-untyped-def]
    """The app behind uvicorn, with Gatehouse's own server limits, on a loopback port."""
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on",
                                           **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield port, app
    finally:
        server.should_exit = True
        thread.join(15)


def _raw_upload_head(port: int, headers: dict, wo: str, total: int, boundary: str = "bnd") -> bytes:
    auth = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (f"POST /v1/attachments?requestId={wo}&file_name=a.pdf HTTP/1.1\r\nHost: x\r\n{auth}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n").encode()


async def test_another_process_starting_never_takes_a_live_upload(settings, factory, db):
    """#1: an upload under way while another process starts (its start-up sweep runs) is
    acknowledged and its file comes back whole."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    payload = b"%PDF-1.4\n" + b"x" * (3 * MiB)
    preamble = b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
    epilogue = b"\r\n--bnd--\r\n"
    body = preamble + payload + epilogue
    served = settings.model_copy(update={"upload_heartbeat_seconds": 0.2, "pending_blob_grace_seconds": 1.0})
    with real_server(served) as (port, _app):
        sock = socket.create_connection(("127.0.0.1", port))
        try:
            sock.sendall(_raw_upload_head(port, caller.headers, wo, len(body)) + body[: 2 * MiB])
            # the upload is now in flight (its pending blob exists): a new process starts, and sweeps,
            # while it goes on slowly
            deadline = time.time() + 10
            while time.time() < deadline:
                async with db.read() as s:
                    if (await s.execute(select(Blob.id).where(Blob.state == "pending"))).first():
                        break
                await asyncio.sleep(0.05)
            second = create_app(served.model_copy(update={"jobs_enabled": True}))
            sent = 2 * MiB
            async with LifespanManager(second):  # start-up sweep, then the periodic one, run meanwhile
                while sent < len(body) - 1024:
                    step = 64 * 1024
                    await asyncio.to_thread(sock.sendall, body[sent: sent + step])
                    sent += step
                    await asyncio.sleep(0.15)  # ~0.4 MiB/s: the upload outlives several sweeps
            await asyncio.to_thread(sock.sendall, body[sent:])
            reply = await asyncio.to_thread(sock.recv, 65536)
        finally:
            sock.close()
        assert reply.startswith(b"HTTP/1.1 200"), reply[:300]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            listed = (await c.get(f"/v1/attachments/{wo}", headers=caller.headers)).json()
            assert len(listed) == 1
            r = await c.get(f"/v1/attachments/{wo}/file/{listed[0]['id']}", headers=caller.headers)
            assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == hashlib.sha256(payload).hexdigest()


async def test_stalled_downloads_do_not_hold_the_pool(settings, factory, db):
    """#2: clients that open a 10 MiB download and stop reading hold no database connection."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    served = settings.model_copy(update={"db_pool_size": 2})
    with real_server(served) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = await c.post("/v1/attachments", params={"requestId": wo, "file_name": "big.pdf"},
                             files={"file": ("big.pdf", b"%PDF-1.4\n" + b"y" * (10 * MiB - 16))},
                             headers=caller.headers)
            assert r.status_code == 200, r.text
            att = r.json()["id"]
        auth = "".join(f"{k}: {v}\r\n" for k, v in caller.headers.items())
        stalled = []
        for _ in range(24):
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET /v1/attachments/{wo}/file/{att} HTTP/1.1\r\nHost: x\r\n{auth}\r\n".encode())
            stalled.append(s)  # never read
        try:
            await asyncio.sleep(1.0)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
                started = time.perf_counter()
                assert (await c.get("/healthz")).status_code == 200
                r = await c.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)
                assert r.status_code == 200
                assert time.perf_counter() - started < 3.0
        finally:
            for s in stalled:
                s.close()


async def test_server_limits_on_headers_and_idle_connections(settings):
    """#5: unterminated headers get 431 at the cap; a connection that sends nothing is closed."""
    served = settings.model_copy(update={"header_timeout_seconds": 1.0})
    with real_server(served) as (port, _app):
        def flood() -> bytes:
            s = socket.create_connection(("127.0.0.1", port))
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                for _ in range(200):  # up to 2 MB of headers, never finished
                    s.sendall(b"X-Junk: " + b"a" * 10_000 + b"\r\n")
            except OSError:
                pass
            return s.recv(200)

        reply = await asyncio.to_thread(flood)
        assert reply.startswith(b"HTTP/1.1 431"), reply

        def idle() -> tuple[bytes, float]:
            s = socket.create_connection(("127.0.0.1", port))
            started = time.time()
            data = s.recv(100)
            return data, time.time() - started

        data, waited = await asyncio.to_thread(idle)
        assert data == b"" and waited < 5

        def bad_framing() -> bytes:
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            return s.recv(1000)

        reply = await asyncio.to_thread(bad_framing)
        assert reply.startswith(b"HTTP/1.1 400") and b'"code": "MALFORMED_HTTP"' in reply, reply


async def test_hostile_bodies_get_clear_400s(client, factory):
    """#5, #6: cost-capped validation and no 500 on giant integers, lone surrogates, long boundaries."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    url = "/v1/facility-access/visitors/access-requests"
    h = {**caller.headers, "Content-Type": "application/json"}
    for body in ('[{"notes": ' + "1" * 4301 + "}]", '[{"notes": ' + "1" * 4301 + ",}]"):
        r = await client.post(url, content=body, headers=h)
        assert r.status_code == 400 and "4300 digits" in r.json()["error"]["message"]
    r = await client.post(url, content='[{"notes":\n "\\ud800"}]', headers=h)
    assert r.status_code == 400 and "line 2, column 3" in r.json()["error"]["message"]
    many = "[{" + ",".join(f'"{i:x}":0' for i in range(110_000)) + "}]"
    started = time.perf_counter()
    r = await client.post(url, content=many, headers=h)
    assert r.status_code == 400 and len(r.content) < 2000 and time.perf_counter() - started < 1.5  # was 2.2 s
    few = "[{" + ",".join(f'"k{i}":0' for i in range(500)) + "}]"
    r = await client.post(url, content=few, headers={**h, "Gatehouse-Strict": "true"})  # each unknown a problem
    assert r.status_code == 400 and len(r.json()["error"]["details"]) == 100
    assert "Only the first 100" in r.json()["error"]["message"]
    r = await client.post("/v1/attachments/file", content=b"x", headers={
        **caller.token_headers, "Content-Type": "multipart/form-data; boundary=" + "a" * 300})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_HEADER"


async def test_long_generated_title_is_accepted(client, factory):
    """#6: five granted locations with 96-character names: 200 on both databases."""
    from tests.facility_access.conftest import request_for

    names = [f"{i}" + "L" * 95 for i in range(5)]
    tenant = await factory.tenant(locations=tuple(names))
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant, locations=names)
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    r = await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)
    assert r.status_code == 200 and len(r.json()["description"]) <= 400


async def test_nothing_lands_on_a_ticket_after_it_closed(client, factory, db):
    """#8: comments racing a cancel either fail with 409 or are older than closedOn."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for _ in range(8):
        wo = await make_ticket(db, tenant, status="Approved")
        comments = [client.post("/v1/comments", json={"requestId": wo, "comment": f"c{i}"}, headers=caller.headers)
                    for i in range(6)]
        cancel = client.put(f"/v1/facility-access/access-tickets/{wo}/cancel", json={"cancelReason": "Duplicate request"},
                            headers=caller.headers)
        replies = await asyncio.gather(*comments[:3], cancel, *comments[3:])
        assert replies[3].status_code == 200
        assert {r.status_code for r in replies} <= {200, 409}
        async with db.read() as s:
            closed = (await s.execute(select(WorkOrder.closed_at).where(WorkOrder.id == wo))).scalar_one()
            times = (await s.execute(select(Comment.created_at).where(Comment.work_order_id == wo))).scalars().all()
        assert all(t <= closed for t in times)
