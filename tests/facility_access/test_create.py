"""SPEC §3 create: shape, every rule, all-or-nothing, permissions."""

from __future__ import annotations

import copy

from sqlalchemy import func, select

from gatehouse.facility_access.models import WorkOrder
from tests.facility_access.conftest import day, request_for


async def count_tickets(db, account_id):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return (await s.execute(select(func.count()).select_from(WorkOrder)
                                .where(WorkOrder.account_id == account_id))).scalar()


async def test_one_work_order_per_visitor_and_site(factory, client, db):
    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    s1, s2 = list(tenant.sites)
    body = request_for(tenant, visitors=3)
    body["sites"].append({"site": s2, "locations": [
        {"location": "Cage A", "accessStartDate": day(1), "accessEndDate": day(1)},
        {"location": "Cage B", "accessStartDate": day(1), "accessEndDate": day(1)}]})
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    ids = [w["workOrderId"] for w in r.json()["workOrder"]]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert all(i.startswith("WO") and len(i) == 9 and i[2:].isdigit() for i in ids)
    # body order: visitor 0 at s1, visitor 0 at s2, visitor 1 at s1 ...
    details = [(await client.get(f"/v1/facility-access/access-tickets/{i}", headers=caller.headers)).json()
               for i in ids]
    assert [(d["contactFirstName"], d["site"][0]["site"]) for d in details] == [
        ("V0", s1), ("V0", s2), ("V1", s1), ("V1", s2), ("V2", s1), ("V2", s2)]
    assert [loc["location"] for loc in details[1]["site"][0]["locations"]] == ["Cage A", "Cage B"]
    assert details[1]["description"].endswith(f"{s2} - Cage A, Cage B on " + details[1]["badgeStartDate"][5:7]
                                              + "/" + details[1]["badgeStartDate"][8:] + "/"
                                              + details[1]["badgeStartDate"][:4])


async def test_initial_status_depends_on_approver_and_auto_approve(factory, client):
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=["visitor-access:request", "visitor-access:approve", "tickets:read"])
    for caller, expected in ((requester, "Pending Approval"), (approver, "Approved")):
        r = await client.post("/v1/facility-access/visitors/access-requests", json=[request_for(tenant)],
                              headers=caller.headers)
        wo = r.json()["workOrder"][0]["workOrderId"]
        d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
        assert d["ticketStatus"] == expected
    auto = await factory.tenant(perms=["visitor-access:request", "tickets:read"], auto_approve=True)
    caller = next(iter(auto.users.values()))
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[request_for(auto)],
                          headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["ticketStatus"] == "Approved"


async def test_twenty_mistakes_twenty_details_nothing_created(factory, client, db):
    tenant = await factory.tenant(site_count=1)
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    bad = {
        "visitors": [
            {"visitorFirstName": "", "visitorLastName": "L" * 21, "visitorEmail": "not-an-email", "visitorPhone": 5},
            {"visitorFirstName": "Ok", "visitorLastName": "Ok", "visitorEmail": "dup@example.com"},
            {"visitorFirstName": "Ok", "visitorLastName": "Ok", "visitorEmail": "dup@example.com", "typo": 1},
        ],
        "sites": [{"site": site, "locations": [
            {"location": "Nowhere", "accessStartDate": day(-400), "accessEndDate": "2024-13-45"}]},
            {"site": "ZZZZZZ", "locations": [{"location": "X", "accessStartDate": day(1), "accessEndDate": day(1)}]}],
        "visitorType": "true",
        "visitorHostFirstName": "H" * 30,
        "visitorHostCompany": "",
        "visitorBadgeStartDate": "07/30/2024",
        "visitorBadgeEndDate": day(1),
        "company": 12,
        "emailNotifications": "ok@example.com, broken@",
        "isExtendedVisitorBadge": "no",
        "isBulkRequest": False,
        "status": "Approved",
    }
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[bad, {"visitors": []}],
                          headers={**caller.headers, "Gatehouse-Strict": "true"})
    assert r.status_code == 400
    err = r.json()["error"]
    fields = [d["field"] for d in err["details"]]
    assert err["code"] == "CONSTRAINT_VIOLATION"
    assert len(fields) >= 20, fields
    for expected in ("[0].visitors[0].visitorFirstName", "[0].visitors[0].visitorLastName",
                     "[0].visitors[0].visitorEmail", "[0].visitors[0].visitorPhone", "[0].visitors[2].typo",
                     "[0].visitorType", "[0].visitorHostFirstName", "[0].visitorHostLastName",
                     "[0].visitorHostCompany", "[0].visitorBadgeStartDate", "[0].company",
                     "[0].isExtendedVisitorBadge", "[0].status", "[0].sites[0].locations[0].accessEndDate",
                     "[1].visitors", "[1].sites", "[1].visitorHostFirstName", "[1].visitorBadgeStartDate",
                     "[1].company", "[1].isBulkRequest"):
        assert expected in fields, (expected, fields)
    email = next(d for d in err["details"] if d["field"] == "[0].visitors[0].visitorEmail")
    assert email["code"] == "INVALID_EMAIL"
    assert email["message"] == "Payload '[0].visitors[0].visitorEmail' is not a valid email address."
    assert next(d for d in err["details"] if d["field"] == "[0].visitors[2].typo")["code"] == "UNKNOWN_FIELD"
    assert await count_tickets(db, tenant.account_id) == 0


async def test_business_rules_listed_together(factory, client, db):
    tenant = await factory.tenant(site_count=1)
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    body = request_for(tenant, visitors=2)
    body["visitors"][1]["visitorEmail"] = body["visitors"][0]["visitorEmail"].upper()
    body["sites"][0]["locations"].append(copy.deepcopy(body["sites"][0]["locations"][0]))
    body["sites"][0]["locations"].append({"location": "Not Granted", "accessStartDate": day(1),
                                          "accessEndDate": day(0)})
    body["sites"].append({"site": site, "locations": [{"location": "Cage A", "accessStartDate": day(1),
                                                        "accessEndDate": day(1)}]})
    body["escortFirstName"] = ""
    body["isExtendedVisitorBadge"] = True
    body["emailNotifications"] = "a@example.com,,b@"
    valid = request_for(tenant)
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[valid, body],
                          headers=caller.headers)
    assert r.status_code == 400, r.text
    codes = {(d["field"], d["code"]) for d in r.json()["error"]["details"]}
    assert ("[1].visitors[1].visitorEmail", "DUPLICATE_VISITOR") in codes
    assert ("[1].sites[0].locations[1].location", "DUPLICATE_LOCATION") in codes
    assert ("[1].sites[0].locations[2].location", "LOCATION_NOTFOUND") in codes
    assert ("[1].sites[0].locations[2].accessEndDate", "INVALID_DATE_RANGE") in codes
    assert ("[1].sites[1].site", "DUPLICATE_SITE") in codes
    assert ("[1].escortFirstName", "MISSING_FIELD") in codes
    assert ("[1].isExtendedVisitorBadge", "EXTENDED_BADGE_NOT_ALLOWED") in codes
    assert ("[1].emailNotifications", "INVALID_EMAIL") in codes
    assert await count_tickets(db, tenant.account_id) == 0  # the valid first element was not created either


async def test_date_rules(factory, client):
    tenant = await factory.tenant(timezone="Pacific/Kiritimati")  # UTC+14: its "today" is ahead of UTC
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))

    async def post(body):  # type: ignore[no-untyped-def]
        r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
        return r.status_code, {(d["field"], d["code"]): d["message"] for d in r.json().get("error", {}).get("details", [])}

    status, problems = await post(request_for(tenant, start=-1, end=2))
    assert status == 400 and ("[0].visitorBadgeStartDate", "DATE_IN_PAST") in problems
    assert site in problems[("[0].visitorBadgeStartDate", "DATE_IN_PAST")]
    status, problems = await post(request_for(tenant, start=92, end=93))
    assert ("[0].visitorBadgeStartDate", "DATE_TOO_FAR") in problems
    status, problems = await post(request_for(tenant, start=2, end=2 + 366))
    assert ("[0].visitorBadgeEndDate", "INVALID_DATE_RANGE") in problems
    status, problems = await post(request_for(tenant, start=3, end=2))
    assert ("[0].visitorBadgeEndDate", "INVALID_DATE_RANGE") in problems
    body = request_for(tenant, start=2, end=5)
    body["sites"][0]["locations"][0].update(accessStartDate=day(1), accessEndDate=day(6))
    status, problems = await post(body)
    assert ("[0].sites[0].locations[0].accessStartDate", "ACCESS_DATE_OUT_OF_RANGE") in problems
    assert ("[0].sites[0].locations[0].accessEndDate", "ACCESS_DATE_OUT_OF_RANGE") in problems
    # boundaries that are allowed: start = today+90 (site time) and end = start+365
    status, problems = await post(request_for(tenant, start=2, end=2 + 365))
    assert status == 200, problems


async def test_escort_and_extended_badge_rules(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))

    async def post(body):  # type: ignore[no-untyped-def]
        r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
        return r

    body = request_for(tenant, visitorType=False)
    del body["isExtendedVisitorBadge"]
    r = await post(body)
    assert r.status_code == 400
    assert r.json()["error"]["details"][0]["field"] == "[0].isExtendedVisitorBadge"
    r = await post(request_for(tenant, start=1, end=40, visitorType=False, isExtendedVisitorBadge=True))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "EXTENDED_BADGE_TOO_LONG"
    for extended, expected in ((True, "Visitor Access (Extended)"), (False, "Visitor Access (Unescorted)")):
        body = request_for(tenant, start=1, end=20, visitorType=False, isExtendedVisitorBadge=extended)
        del body["escortFirstName"], body["escortLastName"]
        r = await post(body)
        assert r.status_code == 200, r.text
        wo = r.json()["workOrder"][0]["workOrderId"]
        d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
        assert d["visitorBadgeType"] == expected and d["visitorType"] == "Unescorted visitor"
    body = request_for(tenant)
    del body["visitorType"]  # defaults to escorted
    r = await post(body)
    wo = r.json()["workOrder"][0]["workOrderId"]
    d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["visitorType"] == "Escorted visitor" and d["visitorBadgeType"] == "Visitor Access (Escorted)"


async def test_combination_limit_and_array_shape(factory, client):
    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    s2 = list(tenant.sites)[1]
    body = request_for(tenant, visitors=6)
    body["sites"].append({"site": s2, "locations": [{"location": "Cage A", "accessStartDate": day(1),
                                                      "accessEndDate": day(1)}]})
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "TOO_MANY_COMBINATIONS"
    for payload in ({}, [], "x", [request_for(tenant)] * 11, None):
        r = await client.post("/v1/facility-access/visitors/access-requests", json=payload, headers=caller.headers)
        assert r.status_code == 400, payload
    r = await client.post("/v1/facility-access/visitors/access-requests", content=b"",
                          headers={**caller.headers, "Content-Type": "application/json"})
    assert r.status_code == 400


async def test_ungranted_site_and_location(factory, client):
    tenant = await factory.tenant()
    other = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    foreign_site = next(iter(other.sites))
    body = request_for(tenant)
    body["sites"][0]["site"] = foreign_site
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    # the body's only kind of problem is a site it may not use: the real API's 404 (SPEC §1)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found."
    assert r.json()["error"]["details"][0]["code"] == "SITE_NOTFOUND"
    body["visitors"][0]["visitorEmail"] = "not-an-email"  # with another kind of problem: 400, both listed
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400
    assert {d["code"] for d in r.json()["error"]["details"]} == {"SITE_NOTFOUND", "INVALID_EMAIL"}


async def test_permissions(factory, client):
    tenant = await factory.tenant(perms=["tickets:read"])
    caller = next(iter(tenant.users.values()))
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[request_for(tenant)],
                          headers=caller.headers)
    assert r.status_code == 403
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[{}], headers=caller.token_headers)
    assert r.status_code == 400  # headers before body
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[{}])
    assert r.status_code == 401


async def test_bulk_flag_and_notifications_stored(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant, isBulkRequest=True, emailNotifications=" a@example.com , b@example.com ")
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["bulkRequest"] is True
    assert d["emailNotifications"] == "a@example.com,b@example.com"


async def test_twenty_mistakes_get_twenty_details(client, factory):
    """Issue 15: type errors and the business rules on the fields that did parse, all at once."""
    from datetime import date, timedelta

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    past = (date.today() - timedelta(days=3)).isoformat()
    far = (date.today() + timedelta(days=500)).isoformat()
    bad = {
        "visitors": [{"visitorFirstName": "X" * 25, "visitorLastName": "Doe", "visitorEmail": "not-an-email",
                      "visitorPhone": "1"}],
        "sites": [{"site": "ZZZ999", "locations": [{"location": "Cage A", "accessStartDate": past,
                                                    "accessEndDate": past}]},
                  {"site": site, "locations": [{"location": "Nowhere", "accessStartDate": "2026-13-01",
                                                "accessEndDate": past}]}],
        "visitorType": True, "escortFirstName": "", "escortLastName": "",
        "visitorHostFirstName": "", "visitorHostLastName": "Doe", "visitorHostCompany": "H" * 130,
        "visitorBadgeStartDate": past, "visitorBadgeEndDate": far, "company": "",
        "emailNotifications": "bad@@x, also bad", "notes": "", "isExtendedVisitorBadge": False,
        "isBulkRequest": "yes", "colour": "blue",
    }
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[bad, bad],
                          headers={**caller.headers, "Gatehouse-Strict": "true"})  # strict: "colour" is one more
    assert r.status_code == 400
    details = r.json()["error"]["details"]
    fields = {d["field"] for d in details}
    for expected in ("[0].visitors[0].visitorFirstName", "[0].visitors[0].visitorEmail",      # types
                     "[0].visitorHostFirstName", "[0].visitorHostCompany", "[0].company", "[0].isBulkRequest",
                     "[0].colour", "[0].sites[1].locations[0].accessStartDate",
                     "[0].escortFirstName", "[0].escortLastName",                              # rules
                     "[0].visitorBadgeEndDate", "[0].emailNotifications", "[0].sites[0].site",
                     "[0].visitorBadgeStartDate", "[1].escortFirstName", "[1].sites[0].site"):
        assert expected in fields, (expected, sorted(fields))
    assert len(details) >= 20
    assert not any("1 characters" in d["message"] for d in details)  # "at least 1 character"


async def test_a_past_start_date_is_reported_even_when_the_site_is_invalid(client, factory):
    """Issue 20 #23: with no valid site to take "today" from, a date past in every zone is still an error."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    body["sites"][0]["site"] = "ZZZ999"
    body["visitorBadgeStartDate"] = "2020-01-01"
    body["visitorBadgeEndDate"] = "2020-01-02"
    for loc in body["sites"][0]["locations"]:
        loc.update(accessStartDate="2020-01-01", accessEndDate="2020-01-02")
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code in (400, 404), r.text
    fields = {(d["field"], d["code"]) for d in r.json()["error"]["details"]}
    assert ("[0].visitorBadgeStartDate", "DATE_IN_PAST") in fields and ("[0].sites[0].site", "SITE_NOTFOUND") in fields
