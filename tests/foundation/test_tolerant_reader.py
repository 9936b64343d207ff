"""SPEC §1's tolerant reader (issue 22, its mechanism): what the real API's own testers send is
accepted — unknown fields and query parameters ignored and named in Gatehouse-Ignored, "true"/
"false" strings as booleans, a token without `Bearer ` — and `Gatehouse-Strict: true` restores the
400s that name each."""

from __future__ import annotations

import asyncio

from tests.facility_access.conftest import request_for

API = "/v1/facility-access"


def _as_testers_send_it(tenant) -> dict:  # type: ignore[no-untyped-def]
    body = request_for(tenant)
    body.update(visitorType="false", isExtendedVisitorBadge="false", isBulkRequest="false",
                standardVisitorBadgeStr="Standard", extendedVisitorBadgeStr="", ticketStatus="Approved",
                escortFirstName="", escortLastName="")
    body["visitors"][0]["company"] = "Their Own Co"
    body["sites"][0]["locations"][0].update(accessStartTime="06:22:00", accessEndTime="18:30")
    return body


async def test_a_request_as_the_real_apis_testers_send_it_is_created(client, factory):
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    caller = next(iter(tenant.users.values()))
    r = await client.post(f"{API}/visitors/access-requests", json=[_as_testers_send_it(tenant)],
                          headers={**caller.headers, "User-Email": "tester@customer.example"})
    assert r.status_code == 200, r.text
    named = [p.strip() for p in r.headers["gatehouse-ignored"].split(",")]
    # what the real API took and means something is modelled; the badge strings are taken as it took them
    assert named == ["[0].ticketStatus"], named
    wo = r.json()["workOrder"][0]["workOrderId"]
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert t["ticketStatus"] == "Pending Approval"  # a client never sets a server-owned field
    assert t["visitorBadgeType"] == "Visitor Access (Unescorted)"  # "false" was read as false
    assert t["representingCompany"] == "Their Own Co"  # the visitor's own company (SPEC §3)
    loc = t["site"][0]["locations"][0]
    assert (loc["accessStartTime"], loc["accessEndTime"]) == ("06:22:00", "18:30:00")


async def test_strict_mode_refuses_and_names_each(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.post(f"{API}/visitors/access-requests", json=[_as_testers_send_it(tenant)],
                          headers={**caller.headers, "Gatehouse-Strict": "true"})
    assert r.status_code == 400
    details = {(d["field"], d["code"]) for d in r.json()["error"]["details"]}
    assert {("[0].ticketStatus", "UNKNOWN_FIELD"), ("[0].visitorType", "INVALID_TYPE")} <= details
    assert "gatehouse-ignored" not in r.headers


async def test_unknown_query_parameters_are_named_and_other_problems_still_refused(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get(f"{API}/visitors", params={"stauts": "Approved", "size": 5}, headers=caller.headers)
    assert r.status_code == 200 and r.headers["gatehouse-ignored"] == "stauts"
    r = await client.get(f"{API}/visitors", params={"stauts": "Approved"},
                         headers={**caller.headers, "Gatehouse-Strict": "true"})
    assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "UNKNOWN_PARAMETER"
    body = _as_testers_send_it(tenant)
    body["visitors"][0]["visitorEmail"] = "not-an-email"
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["[0].visitors[0].visitorEmail"]
    many = {f"x{i}": 1 for i in range(30)}
    r = await client.get(f"{API}/visitors", params=many, headers=caller.headers)
    assert r.status_code == 200 and r.headers["gatehouse-ignored"].endswith("…(10 more)")


async def test_a_token_without_bearer_is_accepted_unless_strict(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bare = {**caller.headers, "Authorization": caller.token}
    assert (await client.get("/v1/sites", headers=bare)).status_code == 200
    assert (await client.get("/v1/sites", headers={**bare, "Gatehouse-Strict": "true"})).status_code == 401
    assert (await client.get("/v1/sites", headers={**caller.headers, "Authorization": "Basic x y"})).status_code == 401


async def test_a_strict_app_refuses_what_a_tolerant_one_ignores(client, factory, db):
    """SPEC §1: an app created strict (CLI flag, console toggle) reads as `Gatehouse-Strict: true`."""
    from gatehouse.auth import service as auth

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    async with db.write() as s:
        await auth.set_app_strict(s, caller.client_id, True)
    await asyncio.sleep(1.1)  # tokens read the change within a second (the security epoch)
    r = await client.post(f"{API}/visitors/access-requests", json=[_as_testers_send_it(tenant)],
                          headers=caller.headers)
    assert r.status_code == 400
    assert ("[0].ticketStatus", "UNKNOWN_FIELD") in {(d["field"], d["code"]) for d in r.json()["error"]["details"]}
    r = await client.get(f"{API}/visitors", params={"stauts": "Approved"}, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "UNKNOWN_PARAMETER"
    async with db.write() as s:
        await auth.set_app_strict(s, caller.client_id, False)
    await asyncio.sleep(1.1)
    r = await client.get(f"{API}/visitors", params={"stauts": "Approved"}, headers=caller.headers)
    assert r.status_code == 200 and r.headers["gatehouse-ignored"] == "stauts"
