"""What the real API was seen to answer (SPEC §1, §3; issue 22): the detail's ticketType, an empty
cancel reason, each missing account header named once."""

from __future__ import annotations

from tests.factories import make_ticket

API = "/v1/facility-access"


async def test_both_account_headers_missing_are_two_details(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/sites", headers=caller.token_headers)
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["Master-Account-Id", "Account-Id"]
    assert all(d["message"] == f"Mandatory header '{d['field']}' is null or empty."
               for d in r.json()["error"]["details"])


async def test_an_empty_or_null_cancel_reason_is_the_default(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for body in ({"cancelReason": ""}, {"cancelReason": None}):
        wo = await make_ticket(db, tenant)
        r = await client.put(f"{API}/access-tickets/{wo}/cancel", json=body, headers=caller.headers)
        assert r.status_code == 200, r.text
        events = (await client.get("/v1/audit-events", params={"objectId": wo, "type": "access_ticket.cancelled"},
                                   headers=caller.headers)).json()["content"]
        assert events[0]["data"]["reason"] == "Request no longer needed"
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", json={"cancelReason": "Because"}, headers=caller.headers)
    assert r.status_code == 400


async def test_the_detail_says_security_and_the_list_facility_access(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = await make_ticket(db, tenant)
    assert (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()["ticketType"] == "Security"
    rows = (await client.get(f"{API}/visitors", headers=caller.headers)).json()["content"]
    assert {r["ticketType"] for r in rows} == {"Facility Access"}
