"""Identity and escort checks at check-in (SPEC §14, §17; issue 23 in part): what the site requires is
asked for (400 naming it), a wrong answer refuses (409 saying why), what was seen is on the desk's
ticket, and the trail records that a check was done and its kind, never the number."""

from __future__ import annotations

from datetime import timedelta

from gatehouse.kit.sitetime import site_today
from tests.facility_access.conftest import request_for

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"


def _doc(**over):  # type: ignore[no-untyped-def]
    expiry = (site_today("America/New_York") + timedelta(days=400)).isoformat()
    return {"type": "passport", "issuingCountry": "US", "numberLast4": "X123", "expiryDate": expiry, **over}


async def test_what_the_site_requires_is_asked_for_and_checked(client, factory):
    tenant = await factory.tenant(checks=True, perms=["visitor-access:request", "visitor-access:approve",
                                                      "tickets:read", "audit:read"])
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=0)],
                          headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    url = f"{OPS}/{wo}/check-in"
    r = await client.put(url, json={"badgeNumber": "B1"}, headers=op.token_headers)
    assert r.status_code == 400
    assert [d["field"] for d in r.json()["error"]["details"]] == ["identityDocument", "nameMatches", "escortPresent"]
    yesterday = (site_today("America/New_York") - timedelta(days=1)).isoformat()
    for body, code in (({"identityDocument": _doc(expiryDate=yesterday), "nameMatches": True, "escortPresent": True},
                        "DOCUMENT_EXPIRED"),
                       ({"identityDocument": _doc(), "nameMatches": False, "escortPresent": True}, "NAME_MISMATCH"),
                       ({"identityDocument": _doc(), "nameMatches": True, "escortPresent": False},
                        "ESCORT_NOT_PRESENT")):
        r = await client.put(url, json={"badgeNumber": "B1", **body}, headers=op.token_headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == code, r.text
    r = await client.put(url, json={"badgeNumber": "B1", "identityDocument": _doc(numberLast4="12345"),
                                    "nameMatches": True, "escortPresent": True}, headers=op.token_headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "identityDocument.numberLast4"
    r = await client.put(url, json={"badgeNumber": "B1", "identityDocument": _doc(), "nameMatches": True,
                                    "escortPresent": True, "escortBadgeNumber": "E-7"}, headers=op.token_headers)
    assert r.status_code == 200, r.text
    desk = (await client.get(f"{OPS}/{wo}", headers=op.token_headers)).json()
    assert desk["identityCheck"]["numberLast4"] == "X123" and desk["identityCheck"]["type"] == "passport"
    assert desk["escortConfirmed"] is True and desk["escortBadgeNumber"] == "E-7"
    trail = (await client.get("/v1/audit-events", params={"objectId": wo, "type": "access_ticket.identity_checked"},
                              headers=caller.headers)).json()["content"]
    assert trail[0]["data"]["documentType"] == "passport" and "X123" not in str(trail)
    escort = (await client.get("/v1/audit-events", params={"objectId": wo, "type": "access_ticket.escort_confirmed"},
                               headers=caller.headers)).json()["content"]
    assert [e["data"]["escortBadgeNumber"] for e in escort] == ["E-7"] and escort[0]["data"]["escort"]
    customer_view = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert "identityCheck" not in customer_view and "X123" not in str(customer_view)


async def test_an_unescorted_visitor_needs_no_escort_and_a_site_without_checks_none(client, factory):
    tenant = await factory.tenant(checks=True)
    caller = next(iter(tenant.users.values()))
    op = await factory.operator(list(tenant.sites))
    body = request_for(tenant, start=0, end=0, visitorType=False, isExtendedVisitorBadge=False, escortFirstName="",
                       escortLastName="")
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B2", "identityDocument": _doc(),
                                                       "nameMatches": True}, headers=op.token_headers)
    assert r.status_code == 200, r.text
    plain = await factory.tenant()  # checks off: a badge is enough
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(plain, start=0, end=0)],
                            headers=next(iter(plain.users.values())).headers)).json()["workOrder"][0]["workOrderId"]
    op2 = await factory.operator(list(plain.sites))
    assert (await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B3"}, headers=op2.token_headers)
            ).status_code == 200
