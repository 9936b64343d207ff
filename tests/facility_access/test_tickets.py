"""SPEC §3 read, list, edit, cancel, approve, deny and the seed's sample requests."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from gatehouse.facility_access.models import TicketEvent
from tests.facility_access.conftest import SEED_CREATE, day, request_for
from tests.factories import make_ticket

API = "/v1/facility-access"


async def make(client, caller, tenant, n=1, **kw):  # type: ignore[no-untyped-def]
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, visitors=n, **kw)],
                          headers=caller.headers)
    assert r.status_code == 200, r.text
    return [w["workOrderId"] for w in r.json()["workOrder"]]


async def test_detail_has_the_seed_shape(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    (wo,) = await make(client, caller, tenant)
    r = await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)
    assert r.status_code == 200
    d = r.json()
    seed_keys = {"ticketId", "ticketType", "ticketStatus", "requester", "ticketCreatedDate", "ticketUpdatedDate",
                 "requestType", "ticketCategory", "contactFirstName", "contactLastName", "contactEmail",
                 "contactPhone", "representingCompany", "badgeStartDate", "badgeEndDate", "site", "modifiedBy",
                 "emailNotifications", "visitorType", "visitorBadgeType", "visitorHostFirstName",
                 "visitorHostLastName", "hostCompany", "notes", "contactType", "escortFirstName", "escortLastName",
                 "visitorBadgeStartDate", "visitorBadgeEndDate", "customerExternalReference", "workDescription",
                 "description", "bulkRequest"}
    assert seed_keys <= set(d)
    assert d["ticketType"] == "Security" and d["requestType"] == "Visitor Access"
    assert d["ticketCategory"] == "New Visitor Access" and d["requester"] == caller.name
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", d["ticketCreatedDate"])
    assert d["customerExternalReference"] == "" and d["closedOn"] == "" and d["comments"] == []
    assert d["site"] == [{"site": site, "address": f"{site} Street 1", "locations": [
        {"location": "Cage A", "accessStartDate": day(1), "accessEndDate": day(1),
         "accessStartTime": "00:00:00", "accessEndTime": "23:59:00"}]}]
    assert d["contactType"] == d["description"] == (
        f"V0 Doe going to visit {site} - Cage A on {day(1)[5:7]}/{day(1)[8:]}/{day(1)[:4]}")
    assert d["workDescription"] == d["notes"] == "Datacenter Tour"


async def test_detail_not_found_forms(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for bad in ("WO0000000", "wo1234567", "123", "WO12345678", "%20"):
        r = await client.get(f"{API}/access-tickets/{bad}", headers=caller.headers)
        assert r.status_code == 404, bad
        assert r.json()["error"]["code"] == "TICKET_NOTFOUND"


async def test_list_pagination_and_filters(factory, client, db):
    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    second = await factory.user(tenant, perms=["visitor-access:request", "tickets:read"])
    s1, s2 = list(tenant.sites)
    ids = []
    for _ in range(3):
        ids += await make(client, caller, tenant, n=2, site=s1)
        await asyncio.sleep(0.002)
    ids += await make(client, second, tenant, n=1, site=s2)
    r = await client.get(f"{API}/visitors?size=3", headers=caller.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["pageable"] == {"last": False, "totalPages": 3, "totalElements": 7, "size": 3, "number": 0,
                                "first": True, "numberOfElements": 3, "empty": False}
    first_row = body["content"][0]
    assert first_row["id"] == ids[-1]  # newest first
    assert set(first_row) == {"id", "title", "status", "site", "requestType", "category", "isBulkRequest",
                              "createdOn", "updatedOn", "closedOn", "createdBy", "ticketType", "description",
                              "location"}
    assert first_row["description"] == "New Visitor Access" and first_row["closedOn"] == ""
    assert first_row["createdBy"] == second.name and first_row["location"] == "Cage A"
    all_rows = []
    for page in range(3):
        r = await client.get(f"{API}/visitors?size=3&page={page}", headers=caller.headers)
        all_rows += [row["id"] for row in r.json()["content"]]
    assert sorted(all_rows) == sorted(ids) and len(all_rows) == 7
    last = (await client.get(f"{API}/visitors?size=3&page=2", headers=caller.headers)).json()["pageable"]
    assert last["last"] is True and last["numberOfElements"] == 1
    past = (await client.get(f"{API}/visitors?size=3&page=9", headers=caller.headers)).json()
    assert past["content"] == [] and past["pageable"]["empty"] is True and past["pageable"]["totalElements"] == 7
    r = await client.get(f"{API}/visitors?site={s2}", headers=caller.headers)
    assert [row["id"] for row in r.json()["content"]] == ids[-1:]
    r = await client.get(f"{API}/visitors", params={"createdBy": caller.name}, headers=caller.headers)
    assert r.json()["pageable"]["totalElements"] == 6
    # the factory's first user may approve (Approved at once); `second` may not (Pending Approval)
    r = await client.get(f"{API}/visitors", params={"status": "Pending Approval"}, headers=caller.headers)
    assert [row["id"] for row in r.json()["content"]] == ids[-1:]
    r = await client.get(f"{API}/visitors", params={"status": "Approved", "site": s1}, headers=caller.headers)
    assert r.json()["pageable"]["totalElements"] == 6
    r = await client.get(f"{API}/visitors", params={"status": "Cancelled"}, headers=caller.headers)
    assert r.json()["pageable"]["totalElements"] == 0
    other_site = await factory.site()
    r = await client.get(f"{API}/visitors?site={other_site}", headers=caller.headers)
    assert r.json()["content"] == [] and r.json()["pageable"]["totalElements"] == 0


async def test_list_parameter_errors(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get(f"{API}/visitors?status=Open", headers=caller.headers)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Query parameter 'status' has an unexpected value."
    for q in ("size=0", "size=101", "page=-1", "size=abc", "page=1.5"):
        r = await client.get(f"{API}/visitors?{q}", headers=caller.headers)
        assert r.status_code == 400, q
        assert r.json()["error"]["details"][0]["field"] == q.split("=")[0]


async def test_edit(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    (wo,) = await make(client, caller, tenant)
    r = await client.put(f"{API}/access-tickets/{wo}", json={"visitorPhone": "+918898805959",
                                                             "emailNotifications": "test2@email.com,jane_doe@email.com"},
                         headers=caller.headers)
    assert r.status_code == 200 and r.json() == {"workOrderId": wo}
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["contactPhone"] == "+918898805959"
    assert d["emailNotifications"] == "test2@email.com,jane_doe@email.com"
    r = await client.put(f"{API}/access-tickets/{wo}", json={"visitorPhone": ""}, headers=caller.headers)
    assert r.status_code == 200
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["contactPhone"] == "" and d["emailNotifications"] == "test2@email.com,jane_doe@email.com"
    for bad in ({}, {"notes": "x"}, {"visitorPhone": None}, {"visitorPhone": 123}, {"emailNotifications": "x@"},
                {"visitorPhone": "1" * 41}):
        r = await client.put(f"{API}/access-tickets/{wo}", json=bad, headers=caller.headers)
        assert r.status_code == 400, bad
    for status in ("Completed", "Cancelled", "Approval Denied"):
        closed = await make_ticket(db, tenant, status=status)
        r = await client.put(f"{API}/access-tickets/{closed}", json={"visitorPhone": "1"}, headers=caller.headers)
        assert r.status_code == 409, status


REQUESTER = ["visitor-access:request", "tickets:read"]


async def test_cancel(factory, client, db):
    tenant = await factory.tenant(perms=REQUESTER)
    caller = next(iter(tenant.users.values()))
    (wo,) = await make(client, caller, tenant)
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", json={"cancelReason": "Duplicate request"},
                         headers=caller.headers)
    assert r.status_code == 200
    assert r.json() == {"result": {"status": f"Work Order {wo} has been cancelled."}}
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["ticketStatus"] == "Cancelled" and d["closedOn"] != "" and d["modifiedBy"] == caller.name
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", headers=caller.headers)
    assert r.status_code == 409
    (wo2,) = await make(client, caller, tenant)
    r = await client.put(f"{API}/access-tickets/{wo2}/cancel", headers=caller.headers)  # no body: default reason
    assert r.status_code == 200
    async with db.read() as s:
        events = (await s.execute(select(TicketEvent).where(TicketEvent.work_order_id == wo2)
                                  .order_by(TicketEvent.id))).scalars().all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("create", None, "Pending Approval"), ("cancel", "Pending Approval", "Cancelled")]
    assert events[1].note == "Request no longer needed" and events[1].actor == caller.name
    (wo3,) = await make(client, caller, tenant)
    r = await client.put(f"{API}/access-tickets/{wo3}/cancel", json={"cancelReason": "Because"},
                         headers=caller.headers)
    assert r.status_code == 400
    in_progress = await make_ticket(db, tenant, status="In Progress")
    assert (await client.put(f"{API}/access-tickets/{in_progress}/cancel", headers=caller.headers)).status_code == 200


async def test_seed_cancel_sample_with_no_break_space(factory, client):
    tenant = await factory.tenant(perms=REQUESTER)
    caller = next(iter(tenant.users.values()))
    (wo,) = await make(client, caller, tenant)
    raw = '{\n\u00a0 "cancelReason": "Duplicate request"\n}'.encode()
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", content=raw,
                         headers={**caller.headers, "Content-Type": "application/json"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "MALFORMED_JSON" and "U+00A0 NO-BREAK SPACE" in err["message"]
    assert "line 2, column 1" in err["message"]
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["ticketStatus"] == "Pending Approval"


async def test_approve_and_deny(factory, client, db):
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=["visitor-access:approve", "tickets:read"])
    wo1, wo2 = await make(client, requester, tenant, n=2)
    assert (await client.put(f"{API}/access-tickets/{wo1}/approve", headers=requester.headers)).status_code == 403
    r = await client.put(f"{API}/access-tickets/{wo1}/approve", headers=approver.headers)
    assert r.status_code == 200 and r.json() == {"workOrderId": wo1, "ticketStatus": "Approved"}
    assert (await client.put(f"{API}/access-tickets/{wo1}/approve", headers=approver.headers)).status_code == 409
    assert (await client.put(f"{API}/access-tickets/{wo1}/deny", json={"reason": "x"},
                             headers=approver.headers)).status_code == 409
    assert (await client.put(f"{API}/access-tickets/{wo2}/deny", json={}, headers=approver.headers)).status_code == 400
    r = await client.put(f"{API}/access-tickets/{wo2}/deny", json={"reason": "No escort available"},
                         headers=approver.headers)
    assert r.status_code == 200 and r.json()["ticketStatus"] == "Approval Denied"
    d = (await client.get(f"{API}/access-tickets/{wo2}", headers=approver.headers)).json()
    assert d["modifiedBy"] == approver.name and d["closedOn"]
    assert (await client.put(f"{API}/access-tickets/{wo2}/cancel", headers=requester.headers)).status_code == 409
    from datetime import date, timedelta
    expired = await make_ticket(db, tenant, status="Pending Approval", badge_start=date.today() - timedelta(days=5),
                                badge_end=date.today() - timedelta(days=3))
    r = await client.put(f"{API}/access-tickets/{expired}/approve", headers=approver.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "BADGE_EXPIRED"


async def test_counts_follow_status_changes(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo1, wo2 = await make(client, caller, tenant, n=2)
    await client.put(f"{API}/access-tickets/{wo1}/cancel", headers=caller.headers)

    async def total(status):  # type: ignore[no-untyped-def]
        r = await client.get(f"{API}/visitors", params={"status": status}, headers=caller.headers)
        return r.json()["pageable"]["totalElements"]

    # factory users hold visitor-access:approve, so tickets start Approved
    assert await total("Approved") == 1 and await total("Cancelled") == 1


async def test_seed_samples_against_demo_world(client, db, tmp_path):
    """The seed's create, get, list, edit and cancel samples, against the demo world."""
    from gatehouse.demo import seed_demo

    creds = await seed_demo(db, tmp_path / "demo-credentials.json")
    ru = creds["Random User"]
    r = await client.post("/v2/auth/token", data={"grant_type": "client_credentials", "client_id": ru.client_id,
                                                   "client_secret": ru.client_secret})
    headers = {"Authorization": f"Bearer {r.json()['access_token']}", "Master-Account-Id": "100123",
               "Account-Id": "0011A00001AaAB1ABC", "Content-Type": "application/json"}
    body = [dict(SEED_CREATE[0], visitorBadgeStartDate=day(1), visitorBadgeEndDate=day(1),
                 sites=[{"site": "IAD024", "locations": [{"location": "ABC Cage F150-B",
                                                           "accessStartDate": day(1), "accessEndDate": day(1)}]}])]
    r = await client.post(f"{API}/visitors/access-requests", json=body, headers=headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    d = (await client.get(f"{API}/access-tickets/{wo}", headers=headers)).json()
    assert d["ticketStatus"] == "Pending Approval" and d["requester"] == "Random User"
    assert d["site"][0]["address"] == "43830 Devin Shafron Drive (Bldg F)"
    assert d["hostCompany"] == "ABC Company" and d["representingCompany"] == "DEF Company"
    rows = (await client.get(f"{API}/visitors", headers=headers)).json()["content"]
    assert any(row["id"] == wo for row in rows)
    r = await client.put(f"{API}/access-tickets/{wo}", headers=headers, json={
        "visitorPhone": "+918898805959", "emailNotifications": "test2@email.com,jane_doe@email.com"})
    assert r.json() == {"workOrderId": wo}
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", headers=headers, json={"cancelReason": "Duplicate request"})
    assert r.json() == {"result": {"status": f"Work Order {wo} has been cancelled."}}
