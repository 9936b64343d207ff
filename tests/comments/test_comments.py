from __future__ import annotations

import re

from tests.factories import make_ticket


async def test_comment_roundtrip_oldest_first(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    for text in ("first", "second"):
        r = await client.post("/v1/comments", json={"requestId": wo, "comment": text}, headers=caller.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["comment"] == text and body["commentedBy"] == caller.name
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", body["commentedOn"])
    d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    assert [c["comment"] for c in d["comments"]] == ["first", "second"]


async def test_comment_rules(factory, client, db):
    tenant = await factory.tenant()
    other = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    for status in ("Completed", "Cancelled", "Approval Denied"):
        closed = await make_ticket(db, tenant, status=status)
        r = await client.post("/v1/comments", json={"requestId": closed, "comment": "x"}, headers=caller.headers)
        assert r.status_code == 409, status
    foreign = await make_ticket(db, other)
    for rid in (foreign, "WO0000000", "nonsense"):
        r = await client.post("/v1/comments", json={"requestId": rid, "comment": "x"}, headers=caller.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "REQUEST_ID_INVALID"
    for bad in ({"requestId": wo, "comment": ""}, {"requestId": wo, "comment": "x" * 4001}, {"requestId": wo},
                {"requestId": wo, "comment": 5}, {"requestId": wo, "comment": "x", "commentedBy": "me"}):
        r = await client.post("/v1/comments", json=bad, headers=caller.headers)
        assert r.status_code == 400, bad
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "x" * 4000}, headers=caller.headers)
    assert r.status_code == 200
    reader = await factory.user(tenant, perms=["tickets:read"])
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "x"}, headers=reader.headers)
    assert r.status_code == 403
