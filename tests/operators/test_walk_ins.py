"""Walk-ins and group check-in (SPEC §14, §17; issue 23 in part)."""

from __future__ import annotations

import json

from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import request_for

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"


async def test_a_walk_in_waits_for_the_customers_approver_who_is_mailed_at_once(client, factory, db):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    approver = next(iter(tenant.users.values()))  # the factory's customers may approve
    async with db.write() as s:
        await accounts.set_email(s, approver.name, f"approver.{tenant.account_id.lower()}@customer.example")
    body = {**request_for(tenant, start=0, end=0), "accountId": tenant.account_id}
    del body["isBulkRequest"]
    r = await client.post("/ops/v1/walk-ins", json=body, headers=op.token_headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    desk = (await client.get(f"{OPS}/{wo}", headers=op.token_headers)).json()
    assert desk["ticketStatus"] == "Pending Approval" and desk["requester"] == op.name
    async with db.read() as s:
        mails = [json.loads(p) for p in (await s.execute(select(OutboxMessage.payload)
                                                         .where(OutboxMessage.channel == "mail"))).scalars()]
    assert any(m.get("ticketId") == wo and m["kind"] == "approval_needed" for m in mails)
    r = await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)
    assert r.status_code == 200
    assert (await client.get(f"{OPS}/{wo}", headers=op.token_headers)).json()["ticketStatus"] == "Approved"


async def test_a_walk_in_is_only_for_a_customer_of_the_desks_site(client, factory):
    tenant = await factory.tenant()
    elsewhere = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    body = {**request_for(tenant, start=0, end=0), "accountId": elsewhere.account_id}
    r = await client.post("/ops/v1/walk-ins", json=body, headers=op.token_headers)
    assert r.status_code == 404 and r.json()["error"]["details"][0]["field"] == "accountId"
    other_site = {**request_for(elsewhere, start=0, end=0), "accountId": elsewhere.account_id}
    r = await client.post("/ops/v1/walk-ins", json=other_site, headers=op.token_headers)
    assert r.status_code == 404  # not the desk's site
    r = await client.post("/ops/v1/walk-ins", json={**body, "accountId": "NOPE"}, headers=op.token_headers)
    assert r.status_code == 404


async def test_a_group_checks_in_together_or_not_at_all(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, visitors=3, start=0, end=0)],
                          headers=caller.headers)
    a, b, c = [w["workOrderId"] for w in r.json()["workOrder"]]
    later = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=3, end=3)],
                               headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    r = await client.put(f"{OPS}/check-in", json=[{"ticketId": a, "badgeNumber": "G1"},
                                                   {"ticketId": later, "badgeNumber": "G2"}], headers=op.token_headers)
    assert r.status_code == 409 and r.json()["error"]["details"][0]["field"] == "[1].ticketId"
    assert (await client.get(f"{OPS}/{a}", headers=op.token_headers)).json()["ticketStatus"] == "Approved"  # none
    r = await client.put(f"{OPS}/check-in", json=[{"ticketId": t, "badgeNumber": f"G-{i}"} for i, t in
                                                   enumerate((a, b, c))], headers=op.token_headers)
    assert r.status_code == 200, r.text
    assert [(x["ticketStatus"], x["badgeNumber"]) for x in r.json()] == [("In Progress", "G-0"), ("In Progress", "G-1"),
                                                                         ("In Progress", "G-2")]
