"""Visitor terminate (SPEC §13; issue 22): the visitor's open tickets in the account end on the day —
later days cut, tickets that would start after it cancelled, a visitor on site flagged to the desk —
at once when the caller may approve, else when the terminate work order is approved."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from gatehouse.facility_access.lifecycle import Termination, termination
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import day, request_for

API = "/v1/facility-access"


async def _ticket(client, caller, tenant, start: int, end: int, email: str = "leaver@example.com") -> str:  # type: ignore[no-untyped-def]
    body = request_for(tenant, start=start, end=end)
    body["visitors"][0]["visitorEmail"] = email
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()["workOrder"][0]["workOrderId"]


def _terminate_body(**extra):  # type: ignore[no-untyped-def]
    return {"visitors": [{"visitorFirstName": "Lee", "visitorLastName": "Ver", "visitorEmail": "LEAVER@example.com",
                          "visitorPhone": "1"}], **extra}


async def test_terminate_at_once_cuts_cancels_and_flags(client, factory, db):
    tenant = await factory.tenant()  # the factory's customers may approve: carried out at once
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    long_one = await _ticket(client, caller, tenant, 0, 3)
    later = await _ticket(client, caller, tenant, 2, 4)
    on_site = await _ticket(client, caller, tenant, 0, 2)
    r = await client.put(f"/ops/v1/access-tickets/{on_site}/check-in", json={"badgeNumber": "B7"},
                         headers=op.token_headers)
    assert r.status_code == 200, r.text
    someone_else = await _ticket(client, caller, tenant, 0, 3, email="stays@example.com")
    r = await client.post(f"{API}/visitors/terminate", json=_terminate_body(visitorBadgeEndDate=day(1)),
                          headers=caller.headers)
    assert r.status_code == 200, r.text
    (order,) = [w["workOrderId"] for w in r.json()["workOrder"]]

    async def get(wo: str) -> dict:
        return (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()

    t = await get(order)
    assert (t["requestType"], t["ticketCategory"], t["ticketStatus"]) == (
        "Visitor Access", "Terminate All Visitor Access", "Completed")
    assert t["visitorBadgeEndDate"] == day(1)
    cut = await get(long_one)
    assert cut["ticketStatus"] == "Approved" and cut["visitorBadgeEndDate"] == day(1)
    assert cut["site"][0]["locations"][0]["accessEndDate"] == day(1)
    assert (await get(later))["ticketStatus"] == "Cancelled"
    flagged = await get(on_site)
    assert flagged["ticketStatus"] == "In Progress" and flagged["visitorBadgeEndDate"] == day(1)
    assert any(order in c["comment"] and c["commentedBy"] == "system" for c in flagged["comments"])
    desk = (await client.get(f"/ops/v1/access-tickets/{on_site}", headers=op.token_headers)).json()
    assert any(order in c["comment"] for c in desk["comments"])  # the desk reads it on the ticket
    assert (await get(someone_else))["visitorBadgeEndDate"] == day(3)  # another visitor: untouched
    async with db.read() as s:  # nobody is mailed a pass for a termination
        rows = (await s.execute(select(OutboxMessage.payload).where(OutboxMessage.channel == "mail"))).scalars()
        kinds = {json.loads(p)["kind"] for p in rows if json.loads(p).get("ticketId") == order}
    assert "visitor_pass" not in kinds


async def test_terminate_waits_for_an_approver(client, factory):
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=["visitor-access:request", "visitor-access:approve", "tickets:read"])
    ticket = await _ticket(client, approver, tenant, 1, 3)
    r = await client.post(f"{API}/visitors/terminate", json=_terminate_body(visitorBadgeEndDate=day(1)),
                          headers=requester.headers)
    (order,) = [w["workOrderId"] for w in r.json()["workOrder"]]
    t = (await client.get(f"{API}/access-tickets/{order}", headers=requester.headers)).json()
    assert t["ticketStatus"] == "Pending Approval"
    assert (await client.get(f"{API}/access-tickets/{ticket}", headers=requester.headers)).json()[
        "visitorBadgeEndDate"] == day(3)  # nothing happens before the approval
    r = await client.put(f"{API}/access-tickets/{order}/approve", headers=approver.headers)
    assert r.status_code == 200 and r.json()["ticketStatus"] == "Completed", r.text
    assert (await client.get(f"{API}/access-tickets/{ticket}", headers=requester.headers)).json()[
        "visitorBadgeEndDate"] == day(1)


async def test_terminate_refuses_bad_input(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = _terminate_body()
    body["visitors"][0]["visitorEmail"] = "not an email"
    r = await client.post(f"{API}/visitors/terminate", json=body, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "visitors[0].visitorEmail"
    r = await client.post(f"{API}/visitors/terminate", json=_terminate_body(visitorBadgeEndDate="2020-01-01"),
                          headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["code"] == "DATE_IN_PAST"


def test_the_termination_rule():
    from types import SimpleNamespace

    d = date(2026, 12, 10)

    def t(start: int, end: int, status: str = "Approved", category: str = "New Visitor Access"):  # type: ignore[no-untyped-def]
        return SimpleNamespace(status=status, badge_start=d + timedelta(days=start), badge_end=d + timedelta(days=end),
                               ticket_category=category)

    loc = SimpleNamespace(access_start=d, access_end=d + timedelta(days=3))
    assert termination(t(0, 3), d, [loc]) == Termination.CUT  # type: ignore[arg-type]
    assert termination(t(0, 0), d, [loc]) == Termination.KEEP  # type: ignore[arg-type]
    assert termination(t(1, 3), d, []) == Termination.CANCEL  # type: ignore[arg-type]
    late_loc = SimpleNamespace(access_start=d + timedelta(days=1), access_end=d + timedelta(days=2))
    assert termination(t(0, 3), d, [late_loc]) == Termination.CANCEL  # type: ignore[arg-type]
    assert termination(t(0, 3, status="Completed"), d, [loc]) == Termination.KEEP  # type: ignore[arg-type]
    assert termination(t(0, 3, category="Terminate All Visitor Access"), d, []) == Termination.KEEP  # type: ignore[arg-type]
