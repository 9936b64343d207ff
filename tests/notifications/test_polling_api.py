"""The notifications polling API (SPEC §13; issue 22): one notification per account per event that
mails the notification list, written with the event on both write paths (the lean create and the
ORM approve), listed newest first, filtered by type and timestamp, flagged read or deleted, scoped
to the account."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from tests.facility_access.conftest import request_for

API = "/v1/facility-access"
PERMS = ["visitor-access:request", "tickets:read", "notifications:read"]


async def test_events_that_mail_the_list_become_notifications(client, factory):
    tenant = await factory.tenant(perms=PERMS)
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=PERMS + ["visitor-access:approve"])
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant)], headers=requester.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    listed = (await client.get("/v1/notifications", headers=requester.headers)).json()
    assert [(n["type"], n["ticketId"]) for n in listed] == [("access_ticket.created", wo)]
    first = listed[0]
    assert first["title"].startswith(f"{wo} at ") and "received" in first["title"]
    assert "waits for approval" in first["message"]
    assert first["readFlag"] is False and first["deleteFlag"] is False
    await asyncio.sleep(1.1)  # the wire's timestamps are whole seconds
    r = await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)
    assert r.status_code == 200, r.text
    listed = (await client.get("/v1/notifications", headers=requester.headers)).json()
    assert [n["type"] for n in listed] == ["access_ticket.approved", "access_ticket.created"]  # newest first
    # the second after the first one's (whole-second) createdOn: the approval came later than that
    after = (datetime.strptime(first["createdOn"], "%Y-%m-%d %H:%M:%S") + timedelta(seconds=1)).strftime(
        "%Y-%m-%d %H:%M:%S")
    newer = (await client.get("/v1/notifications", params={"timestamp": after}, headers=requester.headers)).json()
    assert [n["type"] for n in newer] == ["access_ticket.approved"]
    only = (await client.get("/v1/notifications", params={"type": "access_ticket.created"},
                             headers=requester.headers)).json()
    assert [n["notificationId"] for n in only] == [first["notificationId"]]
    # an event that does not mail the list (a customer's own comment) makes none
    await client.post("/v1/comments", json={"requestId": wo, "comment": "hello"}, headers=requester.headers)
    assert len((await client.get("/v1/notifications", headers=requester.headers)).json()) == 2


async def test_flags_hide_and_scope(client, factory):
    tenant = await factory.tenant(perms=PERMS)
    caller = next(iter(tenant.users.values()))
    other = await factory.tenant(perms=PERMS)
    stranger = next(iter(other.users.values()))
    await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant)], headers=caller.headers)
    (n,) = (await client.get("/v1/notifications", headers=caller.headers)).json()
    url = f"/v1/notifications/{n['notificationId']}"
    assert (await client.get(url, headers=caller.headers)).json() == n
    assert (await client.get(url, headers=stranger.headers)).status_code == 404  # another account's: not found
    assert (await client.put(url, json={"readFlag": True}, headers=stranger.headers)).status_code == 404
    r = await client.put(url, json={"readFlag": True, "isDcimNotification": False}, headers=caller.headers)
    assert r.status_code == 200 and r.json()["readFlag"] is True
    r = await client.put(url, json={"readFlag": 1}, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "readFlag"
    r = await client.put(url, json={"deleteFlag": "true"}, headers=caller.headers)  # the tolerant reader's boolean
    assert r.status_code == 200 and r.json()["deleteFlag"] is True
    assert (await client.get("/v1/notifications", headers=caller.headers)).json() == []  # deleted: hidden
    r = await client.get(url, headers=caller.headers)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found."
    r = await client.get("/v1/notifications", params={"timestamp": "yesterday"}, headers=caller.headers)
    assert r.status_code == 400


async def test_the_permission_is_needed(client, factory):
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    caller = next(iter(tenant.users.values()))
    assert (await client.get("/v1/notifications", headers=caller.headers)).status_code == 403
