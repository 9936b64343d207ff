"""SPEC §8: kill -9 the real server under concurrent creates and uploads, restart it, and find
every acknowledged write whole and nothing half-written (no record without blob, no blob
without record)."""

from __future__ import annotations


import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from gatehouse.attachments.models import Attachment, Blob, StagedAttachment
from gatehouse.facility_access.models import WorkOrder, WorkOrderLocation
from tests.facility_access.conftest import request_for
from tests.net import free_port, wait_healthy



def start_server(settings, port: int, log: Path | None = None) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": settings.effective_database_url,
           "GATEHOUSE_DATA_DIR": str(settings.data_dir), "GATEHOUSE_JOBS_ENABLED": "true",
           "GATEHOUSE_LOG_LEVEL": "WARNING",
           # short, so the restart's sweep may take what the killed process left (its heartbeats stopped)
           "GATEHOUSE_UPLOAD_HEARTBEAT_SECONDS": "0.5", "GATEHOUSE_PENDING_BLOB_GRACE_SECONDS": "2"}
    # the server's errors go to `log` when given, so a failure shows the traceback behind a 500
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen([sys.executable, "-m", "gatehouse", "serve", "--port", str(port), "--no-migrate"],
                            env=env, stdout=out, stderr=out)
    return wait_healthy(proc, port)


async def test_kill_9_under_load_loses_nothing_acknowledged(settings, factory, db, tmp_path):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo_for_files = None
    root = Path(str(settings.data_dir)) / "blobs"
    # other tests share this database and folder: judge only what this test adds
    async with db.read() as s:
        blobs_before = set((await s.execute(select(Blob.id))).scalars())
    files_before = {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    port = free_port()
    log = tmp_path / "server.log"
    proc = await asyncio.to_thread(start_server, settings, port, log)
    base = f"http://127.0.0.1:{port}"
    created: list[str] = []
    uploaded: list[tuple[str, str, str]] = []  # (ticket, attachment id, sha256)
    staged: list[tuple[str, str]] = []
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as c:
            r = await c.post("/v1/facility-access/visitors/access-requests", json=[request_for(tenant)],
                             headers=caller.headers)
            wo_for_files = r.json()["workOrder"][0]["workOrderId"]

            async def creator() -> None:
                while not stop.is_set():
                    try:
                        r = await c.post("/v1/facility-access/visitors/access-requests",
                                         json=[request_for(tenant, visitors=2)], headers=caller.headers)
                    except httpx.HTTPError:
                        return
                    if r.status_code == 200:
                        created.extend(w["workOrderId"] for w in r.json()["workOrder"])

            async def uploader(n: int) -> None:
                i = 0
                while not stop.is_set():
                    i += 1
                    data = b"%PDF-1.4\n" + f"{n}-{i}-".encode() * 50_000
                    try:
                        if i % 2:
                            r = await c.post("/v1/attachments", params={"requestId": wo_for_files,
                                                                        "file_name": f"f{n}-{i}.pdf"},
                                             files={"file": ("x.pdf", data)}, headers=caller.headers)
                            if r.status_code == 200:
                                uploaded.append((wo_for_files, r.json()["id"], hashlib.sha256(data).hexdigest()))
                        else:
                            r = await c.post("/v1/attachments/file", files={"uploadFile": (f"s{n}-{i}.pdf", data)},
                                             headers=caller.token_headers)
                            if r.status_code == 201:
                                staged.append((r.json()["attachmentId"], hashlib.sha256(data).hexdigest()))
                    except httpx.HTTPError:
                        return

            workers = [asyncio.create_task(creator()) for _ in range(3)]
            workers += [asyncio.create_task(uploader(n)) for n in range(3)]
            await asyncio.sleep(2.0)
            os.kill(proc.pid, signal.SIGKILL)  # mid-load, no goodbye
            proc.wait()
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert created and (uploaded or staged), "the load never got going"
    await asyncio.sleep(2.5)  # the dead uploads' heartbeats are now older than the grace period
    proc = await asyncio.to_thread(start_server, settings, port, log)  # restart: sweeps what the crash left

    class Patient(httpx.AsyncClient):
        """A client as SPEC §8 asks of one: a 503 with Retry-After (a database with no connection to
        spare while the whole suite runs) is sent again after the wait. Never a 500."""

        async def get(self, url, **kw):  # type: ignore[no-untyped-def, override]
            for _ in range(5):
                r = await super().get(url, **kw)
                if r.status_code != 503 or "retry-after" not in r.headers:
                    return r
                await asyncio.sleep(float(r.headers["retry-after"]))
            return r

    try:
        async with Patient(base_url=base, timeout=10) as c:
            for wo in created:
                r = await c.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)
                assert r.status_code == 200 and r.json()["site"][0]["locations"], wo
            for wo, att_id, sha in uploaded:
                r = await c.get(f"/v1/attachments/{wo}/file/{att_id}", headers=caller.headers)
                assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha, (
                    r.status_code, log.read_text()[-4000:])
            for sid, sha in staged:
                r = await c.get(f"/v1/attachments/{sid}/file", headers=caller.token_headers)
                assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha, (
                    r.status_code, log.read_text()[-4000:])
    finally:
        proc.terminate()
        proc.wait(10)
    async with db.read() as s:
        blobs = [b for b in (await s.execute(select(Blob))).scalars().all() if b.id not in blobs_before]
        referenced = set((await s.execute(select(Attachment.blob_id))).scalars()) | set(
            (await s.execute(select(StagedAttachment.blob_id))).scalars())
        orders_without_locations = (await s.execute(
            select(WorkOrder.id).where(WorkOrder.account_id == tenant.account_id,
                                       ~select(WorkOrderLocation.id).where(
                                           WorkOrderLocation.work_order_id == WorkOrder.id).exists()))).all()
    assert not [b for b in blobs if b.state == "pending"], "pending blobs survived the restart sweep"
    committed = {b.id for b in blobs if b.state == "committed"}
    referenced -= blobs_before
    assert referenced <= committed, "a record points at a missing blob"
    assert committed <= referenced, "a committed blob has no record"
    assert not orders_without_locations
    on_disk = {p.name for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"} - files_before
    assert on_disk == committed, "files on disk and committed blobs differ"
    assert not list((root / "tmp").iterdir()), "partial files survived the restart"
