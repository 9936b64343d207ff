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


async def test_a_missing_or_empty_mandatory_field_in_the_real_apis_words(client, factory):
    from tests.facility_access.conftest import request_for

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    body["visitors"][0]["visitorFirstName"] = ""
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Mandatory payload 'firstName' is null or empty."  # one problem: its sentence
    assert r.json()["error"]["details"] == [{"field": "[0].visitors[0].visitorFirstName", "code": "MISSING_FIRST_NAME",
                                             "message": "Mandatory payload 'firstName' is null or empty."}]
    del body["visitors"][0]["visitorFirstName"]
    body["company"] = None
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    error = r.json()["error"]
    assert error["message"] == "The request has 2 constraint violations; see details."
    assert [d["message"] for d in error["details"]] == ["Mandatory payload 'firstName' is null or empty.",
                                                         "Mandatory payload 'company' is null or empty."]


async def test_a_site_of_the_wrong_size(client, factory):
    from tests.facility_access.conftest import request_for

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for wrong in ("IAD02", "IAD0244"):
        body = request_for(tenant)
        body["sites"][0]["site"] = wrong
        r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
        assert r.status_code == 400
        assert r.json()["error"]["details"] == [{"field": "[0].sites[0].site", "code": "INCORRECT_SITE_SIZE",
                                                 "message": "Payload attribute site contain incorrect size"}]


async def test_a_malformed_account_header_is_a_bad_request_and_a_foreign_one_forbidden(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for bad in ({"Account-Id": "0011A00001AaAB1ABC-x"}, {"Account-Id": "short"}, {"Master-Account-Id": "10 01 23"}):
        r = await client.get("/v1/sites", headers={**caller.headers, **bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["message"] == "Bad request was submitted."
        assert [d["field"] for d in r.json()["error"]["details"]] == list(bad)
    r = await client.get("/v1/sites", headers={**caller.headers, "Account-Id": "0011A00001AaAB1ABC"})
    assert r.status_code == 403  # well-formed, not the caller's: still 403


async def test_an_unknown_site_for_locations_is_resource_not_found(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/locations", params={"site": "ZZZ999"}, headers=caller.headers)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found."
