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
                {"requestId": wo, "comment": 5}):
        r = await client.post("/v1/comments", json=bad, headers=caller.headers)
        assert r.status_code == 400, bad
    # a server-owned field: ignored and named by default, refused in strict mode
    forged = {"requestId": wo, "comment": "x", "commentedBy": "me"}
    r = await client.post("/v1/comments", json=forged, headers={**caller.headers, "Gatehouse-Strict": "true"})
    assert r.status_code == 400
    r = await client.post("/v1/comments", json=forged, headers=caller.headers)
    assert r.status_code == 200 and r.json()["commentedBy"] == caller.name
    assert r.headers["gatehouse-ignored"] == "commentedBy"
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "x" * 4000}, headers=caller.headers)
    assert r.status_code == 200
    reader = await factory.user(tenant, perms=["tickets:read"])
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "x"}, headers=reader.headers)
    assert r.status_code == 403


async def test_comment_edges(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    pending = await make_ticket(db, tenant, status="Pending Approval")
    running = await make_ticket(db, tenant, status="In Progress")
    for wo in (pending, running):  # every open status takes comments
        r = await client.post("/v1/comments", json={"requestId": wo, "comment": "ok"}, headers=caller.headers)
        assert r.status_code == 200, r.text
    for bad in ({"requestId": 8744051, "comment": "x"}, {"requestId": None, "comment": "x"},
                {"comment": "x"}, [{"requestId": pending, "comment": "x"}], "x"):
        r = await client.post("/v1/comments", json=bad, headers=caller.headers)
        assert r.status_code == 400, bad
        assert r.json()["error"]["type"] == "client"
    r = await client.post("/v1/comments", content=b'{"requestId": "' + pending.encode() + b'",}',
                          headers={**caller.headers, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "MALFORMED_JSON"
    assert (await client.post("/v1/comments", json={"requestId": pending, "comment": "x"})).status_code == 401
    op = await factory.operator(list(tenant.sites))
    r = await client.post("/v1/comments", json={"requestId": pending, "comment": "x"},
                          headers={**op.token_headers, "Master-Account-Id": tenant.master_account_id,
                                   "Account-Id": tenant.account_id})
    assert r.status_code == 403
    # an id of another account and an unknown one give the same answer
    other = await factory.tenant()
    foreign = await make_ticket(db, other)
    a = await client.post("/v1/comments", json={"requestId": foreign, "comment": "x"}, headers=caller.headers)
    b = await client.post("/v1/comments", json={"requestId": "WO0000000", "comment": "x"}, headers=caller.headers)
    assert a.status_code == b.status_code == 404 and a.json()["error"]["message"] == b.json()["error"]["message"]
    d = (await client.get(f"/v1/facility-access/access-tickets/{foreign}", headers=next(iter(other.users.values())).headers)).json()
    assert d["comments"] == []
