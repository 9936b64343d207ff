"""The event trail (SPEC §9, issue 9): every change writes its event in its transaction, read back
through the API (keyset pages, filters, scoping) and exported by the admin CLI."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from gatehouse.events import repository
from gatehouse.events.models import Event
from gatehouse.kit.sitetime import site_today
from gatehouse.kit.db import utcnow
from tests.facility_access.conftest import request_for
from tests.factories import make_ticket

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"


async def _trail(client, caller, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    out: list[dict] = []
    cursor = None
    while True:
        q = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/v1/audit-events", params=q, headers=caller.headers)
        assert r.status_code == 200, r.text
        out += r.json()["content"]
        cursor = r.json()["nextCursor"]
        if cursor is None:
            return out


async def test_a_ticket_lifecycle_leaves_its_trail(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    today = site_today("America/New_York")
    body = request_for(tenant, start=0, end=2)
    r = await client.post(f"{API}/visitors/access-requests", json=[body],
                          headers={**caller.headers, "X-Correlation-Id": "trail-create-1"})
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    assert (await client.put(f"{API}/access-tickets/{wo}", json={"visitorPhone": "+15550100"},
                             headers=caller.headers)).status_code == 200
    assert (await client.post("/v1/comments", json={"requestId": wo, "comment": "at 9"},
                              headers=caller.headers)).status_code == 200
    r = await client.post("/v1/attachments", params={"requestId": wo, "file_name": "a.pdf"},
                          files={"file": ("a.pdf", b"%PDF-1.4 test")}, headers=caller.headers)
    assert r.status_code == 200, r.text
    assert (await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B-7"},
                             headers=op.token_headers)).status_code == 200
    assert (await client.put(f"{OPS}/{wo}/check-out", headers=op.token_headers)).status_code == 200
    assert (await client.put(f"{OPS}/{wo}/complete", headers=op.token_headers)).status_code == 200
    # a refused change leaves nothing
    assert (await client.put(f"{API}/access-tickets/{wo}/cancel", json={},
                             headers=caller.headers)).status_code == 409

    trail = await _trail(client, caller, objectId=wo)
    assert [e["type"] for e in trail] == [
        "access_ticket.created", "access_ticket.updated", "comment.created", "attachment.created",
        "access_ticket.checked_in", "access_ticket.checked_out", "access_ticket.completed"]
    created, updated, *_rest, completed = trail
    assert created["actor"] == {"kind": "user", "name": caller.name, "clientId": caller.client_id}
    assert created["correlationId"] == "trail-create-1"
    assert created["accountId"] == tenant.account_id and created["siteCode"] == site
    assert created["data"] == {"to": "Approved", "requestType": "Visitor Access"}
    assert updated["data"] == {"fields": ["visitorPhone"]}
    assert trail[4]["actor"]["kind"] == "operator" and trail[4]["data"]["badgeNumber"] == "B-7"
    assert completed["data"] == {"from": "In Progress", "to": "Completed", "reason": "operator",
                                 "requestType": "Visitor Access"}
    assert all(e["occurredAt"].endswith("Z") and len(e["id"]) == 36 for e in trail)
    # no PII in event data: names, emails, phones, comment texts stay out
    blob = json.dumps([e["data"] for e in trail])
    for pii in ("V0", "v0@example.com", "+15550100", "at 9", body["escortFirstName"]):
        assert pii not in blob

    # keyset pages of 2 give the same trail; filters narrow it
    assert [e["id"] for e in await _trail(client, caller, objectId=wo, size=2)] == [e["id"] for e in trail]
    only = await _trail(client, caller, type="access_ticket.checked_in")
    assert [e["objectId"] for e in only] == [wo]
    later = await _trail(client, caller, objectId=wo, since=trail[3]["occurredAt"])
    assert later and all(e["occurredAt"] >= trail[3]["occurredAt"] for e in later)

    # the operator reads its sites' trail; another operator sees none of it
    r = await client.get("/ops/v1/audit-events", params={"objectId": wo}, headers=op.token_headers)
    assert [e["type"] for e in r.json()["content"]] == [e["type"] for e in trail]
    other = await factory.operator([await factory.site()])
    r = await client.get("/ops/v1/audit-events", params={"objectId": wo}, headers=other.token_headers)
    assert r.json()["content"] == []
    _ = today


async def test_audit_permission_scope_and_bad_parameters(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    plain = await factory.user(tenant, perms=["tickets:read"])
    wo = await make_ticket(db, tenant)
    assert (await client.get("/v1/audit-events", headers=plain.headers)).status_code == 403
    stranger = next(iter((await factory.tenant()).users.values()))
    r = await client.get("/v1/audit-events", params={"objectId": wo}, headers=stranger.headers)
    assert r.status_code == 200 and r.json()["content"] == []  # another account's trail is not there
    for params, field in (({"cursor": "nope"}, "cursor"), ({"type": "ticket.exploded"}, "type"),
                          ({"since": "yesterday"}, "since"), ({"size": 501}, "size"), ({"size": 0}, "size")):
        r = await client.get("/v1/audit-events", params=params, headers=caller.headers)
        assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == field, (params, r.text)


async def test_status_changes_by_approver_and_job_carry_their_reason(client, factory, db):
    from gatehouse.facility_access.expiry import expire_tickets

    tenant = await factory.tenant()
    approver = next(iter(tenant.users.values()))
    today = site_today("America/New_York")
    pending = await make_ticket(db, tenant, status="Pending Approval")
    denied = await make_ticket(db, tenant, status="Pending Approval")
    old = await make_ticket(db, tenant, status="Approved", badge_start=today - timedelta(days=3),
                            badge_end=today - timedelta(days=2))
    assert (await client.put(f"{API}/access-tickets/{pending}/approve", headers=approver.headers)).status_code == 200
    assert (await client.put(f"{API}/access-tickets/{denied}/deny", json={"reason": "No escort available"},
                             headers=approver.headers)).status_code == 200
    await expire_tickets(db)
    by_id = {e["objectId"]: e for e in await _trail(client, approver, since=(utcnow() - timedelta(minutes=5)).isoformat())
             if e["type"] != "access_ticket.created"}
    assert by_id[pending]["type"] == "access_ticket.approved"
    assert by_id[denied]["data"]["reason"] == "No escort available"
    assert by_id[old]["type"] == "access_ticket.completed"
    assert by_id[old]["data"]["reason"] == "end_of_badge" and by_id[old]["actor"]["kind"] == "system"


async def test_security_changes_are_in_the_trail(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bad = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "guess-Zq81x"}
    for _ in range(5):
        assert (await client.post("/v2/auth/token", data=bad)).status_code == 401
    async with db.read() as s:
        types = (await s.execute(select(Event.type, Event.data).where(Event.object_id == caller.client_id)
                                 .order_by(Event.seq))).all()
    kinds = [t for t, _ in types]
    assert kinds.count("auth.token_refused") == 5 and kinds.count("auth.locked_out") == 1
    assert "app.created" in kinds
    assert all("guess-Zq81x" not in data for _, data in types)  # never the secret


async def test_concurrent_changes_have_exactly_their_events(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    replies = await asyncio.gather(*(client.post("/v1/comments", json={"requestId": wo, "comment": f"c{i}"},
                                                 headers=caller.headers) for i in range(25)))
    ok = sum(r.status_code == 200 for r in replies)
    async with db.read() as s:
        n = (await s.execute(select(func.count()).select_from(Event).where(
            Event.object_id == wo, Event.type == "comment.created"))).scalar()
    assert ok == 25 and n == ok


async def test_events_are_append_only_on_postgresql(db, is_postgres, factory):
    if not is_postgres:
        pytest.skip("the trigger is PostgreSQL's; SQLite has no role separation to enforce it with")
    tenant = await factory.tenant()
    await make_ticket(db, tenant)
    for stmt in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
        with pytest.raises(Exception, match="append-only"):
            async with db.write() as s:
                await s.execute(text(stmt))
    async with db.write() as s:  # the retention purge is the one way out
        purged = await repository.purge_before(s, utcnow() - timedelta(days=3650))
    assert purged == 0


async def test_admin_export_streams_jsonl_and_csv(client, factory, db, settings, tmp_path):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for _ in range(3):
        await make_ticket(db, tenant)
    api = await _trail(client, caller)
    exe = Path(sys.executable).with_name("gatehouse")
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": settings.effective_database_url,
           "GATEHOUSE_DATA_DIR": str(settings.data_dir)}
    out = tmp_path / "trail.jsonl"
    r = subprocess.run([str(exe), "admin", "audit", "export", "--account", tenant.account_id, "--format", "jsonl",
                        "--output", str(out)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["id"] for e in lines] == [e["id"] for e in api]
    r = subprocess.run([str(exe), "admin", "audit", "export", "--account", tenant.account_id, "--format", "csv"],
                       capture_output=True, text=True, env=env, timeout=60)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["id"] for row in rows] == [e["id"] for e in api] and rows[0]["type"] == api[0]["type"]
    r = subprocess.run([str(exe), "admin", "audit", "export", "--since", "last week"], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode != 0 and r.stderr.startswith("error:") and "Traceback" not in r.stderr
