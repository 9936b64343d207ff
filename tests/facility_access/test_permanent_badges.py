"""Permanent badges (SPEC §13; issue 22): New Badge, approval location by location, the holders'
list, the desk's check-in recording the badge, Modify Badge, Terminate All Access, and the worker
deactivating a badge unused for too long (with its event and mails)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, update

from gatehouse.facility_access.badges import deactivate_unused
from gatehouse.facility_access.lifecycle import HolderStatus, Status, holder_status, status_of_decisions
from gatehouse.facility_access.models import BadgeHolder
from gatehouse.kit.db import utcnow
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import day

API = "/v1/facility-access"
REQUESTER = ["permanent-badge:request", "tickets:read", "notifications:read"]


def _badge(tenant, email="holder@example.com", **extra):  # type: ignore[no-untyped-def]
    sites = [{"site": code, "locations": [{"location": loc, "accessStartDate": day(0), "accessEndDate": day(400)}
                                          for loc in locs]} for code, locs in tenant.sites.items()]
    return {"firstName": "Pat", "lastName": "Holder", "email": email, "company": "ABC Company", "phone": "555",
            "badgeStartDate": day(0), "emailNotifications": "security@customer.example", "sites": sites, **extra}


async def test_a_badge_is_decided_location_by_location(client, factory, db):
    tenant = await factory.tenant(perms=REQUESTER, site_count=2)
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=REQUESTER + ["permanent-badge:approve"])
    visitor_approver = await factory.user(tenant, perms=["visitor-access:approve", "tickets:read"])
    first, second = list(tenant.sites)
    r = await client.post(f"{API}/perm-badges", json=_badge(tenant), headers=requester.headers)
    assert r.status_code == 200, r.text
    (wo,) = [w["workOrderId"] for w in r.json()["workOrder"]]
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=requester.headers)).json()
    assert (t["requestType"], t["ticketCategory"], t["ticketStatus"]) == ("Permanent Badge", "New Badge",
                                                                          "Pending Approval")
    assert [s["site"] for s in t["site"]] == [first, second] and t["badgeEndDate"] == ""  # no expiration
    assert {loc["approvalStatus"] for s in t["site"] for loc in s["locations"]} == {"Pending"}
    holders = (await client.get(f"{API}/perm-badges", headers=requester.headers)).json()
    assert [(h["email"], h["status"]) for h in holders["content"]] == [("holder@example.com", "Pending")]
    # a visitor approver may not decide a badge
    assert (await client.put(f"{API}/access-tickets/{wo}/approve", headers=visitor_approver.headers)
            ).status_code == 403
    decide = {"locations": [{"site": first, "location": "Cage A", "decision": "approve"},
                            {"site": first, "location": "Cage B", "decision": "deny", "reason": "not theirs"}]}
    r = await client.put(f"{API}/access-tickets/{wo}/approve", json=decide, headers=approver.headers)
    assert r.status_code == 200 and r.json()["ticketStatus"] == "Pending Approval", r.text  # second site waits
    r = await client.put(f"{API}/access-tickets/{wo}/deny", json={"reason": "second site closed"},
                         headers=approver.headers)
    assert r.json()["ticketStatus"] == "Approved"  # approved + denied = Approved
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=requester.headers)).json()
    got = {(s["site"], loc["location"]): loc["approvalStatus"] for s in t["site"] for loc in s["locations"]}
    assert got == {(first, "Cage A"): "Approved", (first, "Cage B"): "Denied", (second, "Cage A"): "Denied",
                   (second, "Cage B"): "Denied"}
    (holder,) = (await client.get(f"{API}/perm-badges", headers=requester.headers)).json()["content"]
    assert holder["status"] == "Active"
    assert holder["sites"] == [{"site": first, "locations": [
        {"location": "Cage A", "accessStartDate": day(0), "accessEndDate": day(400), "accessStartTime": "00:00:00",
         "accessEndTime": "23:59:00", "approvalStatus": "Approved"}]}]
    assert (await client.get(f"{API}/perm-badges", params={"site": second}, headers=requester.headers)
            ).json()["content"] == []
    # the desk: the badge number is recorded at the first check-in
    op = await factory.operator([first])
    r = await client.put(f"/ops/v1/access-tickets/{wo}/check-in", json={"badgeNumber": "PB-1"},
                         headers=op.token_headers)
    assert r.status_code == 200, r.text
    (holder,) = (await client.get(f"{API}/perm-badges", headers=requester.headers)).json()["content"]
    assert holder["badgeNumber"] == "PB-1" and holder["lastCheckIn"]
    # a second New Badge for the same person is refused; a modify names an unknown holder 404
    assert (await client.post(f"{API}/perm-badges", json=_badge(tenant), headers=requester.headers)
            ).status_code == 409
    r = await client.put(f"{API}/perm-badges/modify", json={"firstName": "No", "lastName": "One",
                                                            "email": "nobody@example.com"}, headers=requester.headers)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found."


async def test_modify_and_terminate(client, factory):
    tenant = await factory.tenant(perms=REQUESTER + ["permanent-badge:approve"], site_count=2)
    caller = next(iter(tenant.users.values()))  # may approve: everything takes effect at once
    first, second = list(tenant.sites)
    body = _badge(tenant)
    body["sites"] = body["sites"][:1]
    r = await client.post(f"{API}/perm-badges", json=body, headers=caller.headers)
    new = r.json()["workOrder"][0]["workOrderId"]
    r = await client.put(f"{API}/perm-badges/modify", json={
        "firstName": "Pat", "lastName": "Holder", "email": "HOLDER@example.com", "phone": "777",
        "badgeExpirationDate": day(500), "addSites": [{"site": second, "locations": [
            {"location": "Cage B", "accessStartDate": day(1), "accessEndDate": day(30), "accessStartTime": "08:00",
             "accessEndTime": "18:00"}]}]}, headers=caller.headers)
    assert r.status_code == 200, r.text
    modify = r.json()["workOrder"][0]["workOrderId"]
    t = (await client.get(f"{API}/access-tickets/{modify}", headers=caller.headers)).json()
    assert (t["ticketCategory"], t["ticketStatus"]) == ("Modify Badge", "Approved")
    (holder,) = (await client.get(f"{API}/perm-badges", headers=caller.headers)).json()["content"]
    assert holder["badgeExpirationDate"] == day(500) and {s["site"] for s in holder["sites"]} == {first, second}
    r = await client.post(f"{API}/perm-badges/terminate", json={"firstName": "Pat", "lastName": "Holder",
                                                                 "email": "holder@example.com",
                                                                 "badgeExpirationDate": day(0)},
                          headers=caller.headers)
    assert r.status_code == 200, r.text
    order = r.json()["workOrder"][0]["workOrderId"]
    t = (await client.get(f"{API}/access-tickets/{order}", headers=caller.headers)).json()
    assert (t["ticketCategory"], t["ticketStatus"]) == ("Terminate All Access", "Completed")
    assert (await client.get(f"{API}/access-tickets/{new}", headers=caller.headers)).json()["badgeEndDate"] == day(0)
    assert (await client.get(f"{API}/access-tickets/{modify}", headers=caller.headers)).json()[
        "ticketStatus"] == "Cancelled"  # it would only have started tomorrow
    (holder,) = (await client.get(f"{API}/perm-badges", headers=caller.headers)).json()["content"]
    assert holder["status"] == "Terminated"


async def test_an_unused_badge_is_deactivated_with_its_mail(client, factory, db):
    tenant = await factory.tenant(perms=REQUESTER + ["permanent-badge:approve"])
    caller = next(iter(tenant.users.values()))
    r = await client.post(f"{API}/perm-badges", json=_badge(tenant, email="idle@example.com"), headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    assert await deactivate_unused(db, days=365) == 0 or True  # others' badges may be due; this one is not
    async with db.write() as s:
        await s.execute(update(BadgeHolder).where(BadgeHolder.email_key == "idle@example.com")
                        .values(activated_at=utcnow() - timedelta(days=366)))
    assert await deactivate_unused(db, days=365) >= 1
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert t["ticketStatus"] == "Completed"
    (holder,) = [h for h in (await client.get(f"{API}/perm-badges", headers=caller.headers)).json()["content"]
                 if h["email"] == "idle@example.com"]
    assert holder["status"] == "Deactivated"
    async with db.read() as s:
        mails = [json.loads(p) for p in (await s.execute(select(OutboxMessage.payload)
                                                         .where(OutboxMessage.channel == "mail"))).scalars()]
    sent = {(m["to"], m["kind"]) for m in mails if m.get("ticketId") == wo}
    assert {("idle@example.com", "badge_deactivated"), ("security@customer.example", "badge_deactivated")} <= sent
    notes = (await client.get("/v1/notifications", params={"type": "access_ticket.badge_deactivated"},
                              headers=caller.headers)).json()
    assert [n["ticketId"] for n in notes] == [wo]
    assert await deactivate_unused(db, days=365) == 0  # once


def test_the_decision_and_holder_rules():
    from types import SimpleNamespace

    from gatehouse.facility_access.lifecycle import approver_permission

    # who decides (the API's check and the "approval needed" mail ask the same rule)
    assert approver_permission(SimpleNamespace(request_type="Permanent Badge")) == "permanent-badge:approve"  # type: ignore[arg-type]
    assert approver_permission(SimpleNamespace(request_type="PoP/POE Room Access")) == "visitor-access:approve"  # type: ignore[arg-type]
    assert status_of_decisions(["pending", "pending"]) == Status.PENDING
    assert status_of_decisions(["approved", "approved"]) == Status.APPROVED
    assert status_of_decisions(["denied", "denied"]) == Status.DENIED
    assert status_of_decisions(["approved", "pending"]) == Status.PENDING
    assert status_of_decisions(["approved", "denied"]) == Status.APPROVED
    today = utcnow().date()
    assert holder_status(None, False, None, today, True, False) == HolderStatus.ACTIVE
    assert holder_status(today, False, None, today, True, False) == HolderStatus.TERMINATED
    assert holder_status(today + timedelta(days=1), False, None, today, True, False) == HolderStatus.ACTIVE
    assert holder_status(None, True, None, today, True, False) == HolderStatus.DEACTIVATED
    assert holder_status(None, False, today - timedelta(days=1), today, True, False) == HolderStatus.EXPIRED
    assert holder_status(None, False, None, today, False, True) == HolderStatus.PENDING
