"""Cross-account isolation on every endpoint; Idempotency-Key semantics and races."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from gatehouse.facility_access.models import WorkOrder
from tests.facility_access.conftest import request_for
from tests.factories import make_ticket

API = "/v1/facility-access"


async def test_foreign_ticket_is_404_everywhere_and_unchanged(factory, client, db):
    owner = await factory.tenant()
    other = await factory.tenant()
    intruder = next(iter(other.users.values()))
    wo = await make_ticket(db, owner, status="Pending Approval")
    calls = [
        ("GET", f"{API}/access-tickets/{wo}", None),
        ("PUT", f"{API}/access-tickets/{wo}", {"visitorPhone": "666"}),
        ("PUT", f"{API}/access-tickets/{wo}/cancel", {}),
        ("PUT", f"{API}/access-tickets/{wo}/approve", None),
        ("PUT", f"{API}/access-tickets/{wo}/deny", {"reason": "x"}),
    ]
    for method, url, body in calls:
        r = await client.request(method, url, json=body, headers=intruder.headers)
        assert r.status_code == 404, (method, url, r.text)
        assert r.json()["error"]["code"] == "TICKET_NOTFOUND"
    rows = (await client.get(f"{API}/visitors", headers=intruder.headers)).json()
    assert all(row["id"] != wo for row in rows["content"])
    owner_caller = next(iter(owner.users.values()))
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=owner_caller.headers)).json()
    assert d["ticketStatus"] == "Pending Approval" and d["contactPhone"] == "1234567890"


async def test_same_master_other_account_cannot_see(factory, client, db):
    """A second account under another master is isolated even from a user with a grant elsewhere."""
    a = await factory.tenant()
    b = await factory.tenant()
    wo = await make_ticket(db, a)
    caller_b = next(iter(b.users.values()))
    headers = {**caller_b.headers, "Master-Account-Id": a.master_account_id, "Account-Id": a.account_id}
    r = await client.get(f"{API}/access-tickets/{wo}", headers=headers)
    assert r.status_code == 403


async def count(db, account_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return (await s.execute(select(func.count()).select_from(WorkOrder)
                                .where(WorkOrder.account_id == account_id))).scalar()


async def test_idempotency_replay_mismatch_and_validation(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = [request_for(tenant, visitors=2)]
    h = {**caller.headers, "Idempotency-Key": "order-42"}
    r1 = await client.post(f"{API}/visitors/access-requests", json=body, headers=h)
    assert r1.status_code == 200
    r2 = await client.post(f"{API}/visitors/access-requests", json=body, headers=h)
    assert r2.status_code == 200 and r2.json() == r1.json()
    assert r2.headers.get("idempotent-replayed") == "true"
    assert await count(db, tenant.account_id) == 2
    body2 = [request_for(tenant, visitors=1)]
    r3 = await client.post(f"{API}/visitors/access-requests", json=body2, headers=h)
    assert r3.status_code == 422 and r3.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    for bad in ("", "x" * 256, "caf\u00e9"):
        r = await client.post(f"{API}/visitors/access-requests", json=body,
                              headers={**caller.headers, "Idempotency-Key": bad.encode("utf-8")})
        assert r.status_code == 400, bad
    # a failed attempt is not stored: the same key can be retried with a fixed body
    h2 = {**caller.headers, "Idempotency-Key": "retry-me"}
    bad_body = [request_for(tenant, visitorHostCompany="")]
    assert (await client.post(f"{API}/visitors/access-requests", json=bad_body, headers=h2)).status_code == 400
    assert (await client.post(f"{API}/visitors/access-requests", json=body2, headers=h2)).status_code == 200
    # another app of the same user is another scope
    other = await factory.user(tenant, perms=["visitor-access:request", "tickets:read"])
    r = await client.post(f"{API}/visitors/access-requests", json=body2,
                          headers={**other.headers, "Idempotency-Key": "order-42"})
    assert r.status_code == 200 and r.json() != r1.json()


async def test_concurrent_retries_create_one_set(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = [request_for(tenant, visitors=3)]
    h = {**caller.headers, "Idempotency-Key": "race-1"}
    results = await asyncio.gather(*[client.post(f"{API}/visitors/access-requests", json=body, headers=h)
                                     for _ in range(8)])
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {200, 409}, statuses
    oks = [r.json() for r in results if r.status_code == 200]
    assert oks and all(o == oks[0] for o in oks)
    assert await count(db, tenant.account_id) == 3
    r = await client.post(f"{API}/visitors/access-requests", json=body, headers=h)
    assert r.status_code == 200 and r.json() == oks[0]
