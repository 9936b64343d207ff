"""Operator rules beyond the happy path: every status rule, time zones, scope, the job in
batches and concurrently, and the real `gatehouse ops` command."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from gatehouse.facility_access.models import TicketCount, TicketEvent, WorkOrder
from gatehouse.kit.sitetime import site_today
from gatehouse.facility_access.expiry import expire_tickets
from tests.factories import make_ticket

OPS = "/ops/v1/access-tickets"
EAST, WEST = "Pacific/Kiritimati", "Pacific/Pago_Pago"  # UTC+14 and UTC-11: always different dates


async def status_of(db, wo):  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return (await s.execute(select(WorkOrder.status).where(WorkOrder.id == wo))).scalar_one()


async def test_status_rules(factory, client, db):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    today = site_today("America/New_York")
    h = op.token_headers
    tickets = {s: await make_ticket(db, tenant, status=s, badge_start=today, badge_end=today + timedelta(days=1))
               for s in ("Pending Approval", "Approved", "In Progress", "Completed", "Approval Denied", "Cancelled")}
    # check-out only from In Progress
    for s, wo in tickets.items():
        r = await client.put(f"{OPS}/{wo}/check-out", headers=h)
        if s == "In Progress":
            assert r.status_code == 200 and r.json()["ticketStatus"] == "In Progress"
        else:
            assert r.status_code == 409 and r.json()["error"]["code"] == "INVALID_TICKET_STATUS", s
    # check-in from Approved and (standard badge) In Progress only
    for s, wo in tickets.items():
        r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B7"}, headers=h)
        assert r.status_code == (200 if s in ("Approved", "In Progress") else 409), s
    # complete from Approved / In Progress only; nothing leaves a final status
    for s, wo in tickets.items():
        r = await client.put(f"{OPS}/{wo}/complete", headers=h)
        assert r.status_code == (200 if s in ("Approved", "In Progress") else 409), s
        assert await status_of(db, wo) == ("Completed" if s in ("Approved", "In Progress") else s)
    # comments: open tickets only (Pending Approval is still open)
    for s, wo in tickets.items():
        r = await client.post(f"{OPS}/{wo}/comments", json={"comment": "note"}, headers=h)
        assert r.status_code == (200 if s == "Pending Approval" else 409), s
    # an operator never approves, denies, edits or cancels, even with account headers
    pending = tickets["Pending Approval"]
    headers = {**h, "Master-Account-Id": tenant.master_account_id, "Account-Id": tenant.account_id}
    for url, body in ((f"/v1/facility-access/access-tickets/{pending}/approve", None),
                      (f"/v1/facility-access/access-tickets/{pending}/deny", {"reason": "no"}),
                      (f"/v1/facility-access/access-tickets/{pending}", {"visitorPhone": "1"}),
                      (f"/v1/facility-access/access-tickets/{pending}/cancel", None)):
        assert (await client.put(url, json=body, headers=headers)).status_code == 403, url
    assert await status_of(db, pending) == "Pending Approval"


async def test_extended_badge_checks_in_once(factory, client, db):
    tenant = await factory.tenant()
    op = await factory.operator(list(tenant.sites))
    today = site_today("America/New_York")
    wo = await make_ticket(db, tenant, badge_start=today, badge_end=today + timedelta(days=10), extended=True)
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "X1"}, headers=op.token_headers)
    assert r.status_code == 200
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "X2"}, headers=op.token_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_CHECKED_IN"
    d = (await client.get(f"{OPS}/{wo}", headers=op.token_headers)).json()
    assert d["badgeNumber"] == "X1" and d["visitorBadgeType"] == "Visitor Access (Extended)"


async def test_site_time_zones(factory, client, db):
    """Kiritimati is always a day or two ahead of Pago Pago: each site judges by its own clock."""
    east = await factory.tenant(timezone=EAST)
    west = await factory.tenant(timezone=WEST)
    e_site, w_site = next(iter(east.sites)), next(iter(west.sites))
    op = await factory.operator([e_site, w_site])
    h = op.token_headers
    e_today, w_today = site_today(EAST), site_today(WEST)
    assert e_today > w_today
    # check-in: a badge for Kiritimati's today is early at Pago Pago, on time at Kiritimati
    early = await make_ticket(db, west, badge_start=e_today, badge_end=e_today)
    r = await client.put(f"{OPS}/{early}/check-in", json={"badgeNumber": "1"}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "OUTSIDE_ACCESS_WINDOW"
    on_time = await make_ticket(db, east, badge_start=e_today, badge_end=e_today)
    assert (await client.put(f"{OPS}/{on_time}/check-in", json={"badgeNumber": "1"}, headers=h)).status_code == 200
    # ... and a badge for Pago Pago's today is already over at Kiritimati
    late = await make_ticket(db, east, badge_start=w_today, badge_end=w_today)
    assert (await client.put(f"{OPS}/{late}/check-in", json={"badgeNumber": "1"}, headers=h)).status_code == 409
    # check-out: on Kiritimati's last badge day it completes; at Pago Pago that day is still ahead
    e_running = await make_ticket(db, east, status="In Progress", badge_start=w_today, badge_end=e_today)
    w_running = await make_ticket(db, west, status="In Progress", badge_start=w_today, badge_end=e_today)
    assert (await client.put(f"{OPS}/{e_running}/check-out", headers=h)).json()["ticketStatus"] == "Completed"
    assert (await client.put(f"{OPS}/{w_running}/check-out", headers=h)).json()["ticketStatus"] == "In Progress"
    # the roster defaults to each site's own today
    ids = [r["ticketId"] for r in (await client.get(OPS, headers=h)).json()["content"]]
    assert on_time in ids and w_running in ids and early not in ids and late not in ids
    ids = [r["ticketId"] for r in (await client.get(OPS, params={"site": w_site}, headers=h)).json()["content"]]
    assert ids == [w_running]
    # the job: Pago Pago's today has ended at Kiritimati, not at Pago Pago
    e_exp = await make_ticket(db, east, status="Approved", badge_start=w_today, badge_end=w_today)
    w_keep = await make_ticket(db, west, status="Approved", badge_start=w_today, badge_end=w_today)
    await expire_tickets(db)
    assert await status_of(db, e_exp) == "Completed"
    assert await status_of(db, w_keep) == "Approved"


async def test_scope_and_input(factory, client, db):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    other_op = await factory.operator([])
    wo = await make_ticket(db, tenant)
    customer = next(iter(tenant.users.values()))
    routes = (("GET", OPS, None), ("GET", f"{OPS}/{wo}", None),
              ("PUT", f"{OPS}/{wo}/check-in", {"badgeNumber": "1"}), ("PUT", f"{OPS}/{wo}/check-out", None),
              ("PUT", f"{OPS}/{wo}/complete", None), ("POST", f"{OPS}/{wo}/comments", {"comment": "x"}))
    for method, url, body in routes:
        assert (await client.request(method, url, json=body, headers=customer.headers)).status_code == 403, url
        assert (await client.request(method, url, json=body)).status_code == 401, url
        if url != OPS:  # an operator of no site finds nothing
            r = await client.request(method, url, json=body, headers=other_op.token_headers)
            assert r.status_code == 404 and r.json()["error"]["code"] == "TICKET_NOTFOUND", url
    assert (await client.get(OPS, headers=other_op.token_headers)).json()["content"] == []
    assert await status_of(db, wo) == "Approved"
    h = {**op.token_headers, "Gatehouse-Strict": "true"}  # typos refused (by default: ignored and named)
    for params in ({"date": "2026-13-01"}, {"date": "20260101"}, {"status": "approved"}, {"sites": site}):
        assert (await client.get(OPS, params=params, headers=h)).status_code == 400, params
    assert (await client.get(OPS, params={"site": "ZZZ999"}, headers=h)).status_code == 404
    for bad in ({"badgeNumber": "   "}, {"badgeNumber": "B1", "status": "Completed"}, [], {"badgeNumber": None}):
        assert (await client.put(f"{OPS}/{wo}/check-in", json=bad, headers=h)).status_code == 400, bad
    for bad in ({"comment": ""}, {"comment": "x" * 4001}, {"comment": "x", "requestId": wo}, {"comment": True}):
        assert (await client.post(f"{OPS}/{wo}/comments", json=bad, headers=h)).status_code == 400, bad
    for bad_id in ("WO123", "wo0000001", "WO00000001", "%00"):
        assert (await client.get(f"{OPS}/{bad_id}", headers=h)).status_code in (404, 400), bad_id
    r = (await client.get(OPS, params={"site": site}, headers=h)).json()["content"]
    row = next(x for x in r if x["ticketId"] == wo)
    for key in ("ticketStatus", "site", "visitorFirstName", "visitorLastName", "visitorEmail", "company",
                "visitorBadgeType", "badgeStartDate", "badgeEndDate", "locations", "accountId", "accountName",
                "badgeNumber"):
        assert key in row, key


async def test_job_in_batches_and_concurrently(factory, db):
    tenant = await factory.tenant()
    past = site_today("America/New_York") - timedelta(days=2)
    ids = [await make_ticket(db, tenant, status=s, badge_start=past, badge_end=past)
           for s in ("Pending Approval", "Approved", "In Progress") * 3]
    results = await asyncio.gather(*(expire_tickets(db, batch=2) for _ in range(3)))
    assert sum(results) >= len(ids)
    async with db.read() as s:
        rows = {w.id: w for w in (await s.execute(select(WorkOrder).where(WorkOrder.id.in_(ids)))).scalars()}
        events = (await s.execute(select(TicketEvent.work_order_id).where(
            TicketEvent.work_order_id.in_(ids), TicketEvent.action == "expire"))).scalars().all()
    assert sorted(events) == sorted(ids)  # each moved exactly once
    for w in rows.values():
        assert w.status in ("Completed", "Cancelled") and w.modified_by == "system" and w.closed_at
        assert (w.status == "Cancelled") == (w.cancel_reason == "Request no longer needed")
    async with db.read() as s:  # the list counters moved with the tickets, each exactly once
        counts = dict((await s.execute(select(TicketCount.status, func.sum(TicketCount.n))
                                       .where(TicketCount.account_id == tenant.account_id)
                                       .group_by(TicketCount.status))).all())
    assert {k: v for k, v in counts.items() if v} == {"Completed": 6, "Cancelled": 3}


def _gatehouse(settings, *args: str):  # type: ignore[no-untyped-def]
    exe = Path(sys.executable).with_name("gatehouse")
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": settings.effective_database_url,
           "GATEHOUSE_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=env, timeout=60)


async def test_real_cli_command(factory, db, settings):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    today = site_today("America/New_York")
    wo = await make_ticket(db, tenant, badge_start=today, badge_end=today + timedelta(days=1))
    closed = await make_ticket(db, tenant, status="Cancelled", badge_start=today)

    async def run(*args: str):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(_gatehouse, settings, "ops", *args)

    r = await run("roster", "--operator", op.name, "--site", site, "--json")
    assert r.returncode == 0, r.stderr
    assert wo in [row["ticketId"] for row in json.loads(r.stdout)["content"]]
    r = await run("check-in", "--operator", op.name, wo, "--badge-number", "B123", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["ticketStatus"] == "In Progress", r.stderr
    r = await run("check-out", "--operator", op.name, wo, "--json")
    assert json.loads(r.stdout)["ticketStatus"] == "In Progress"  # before the badge end date
    r = await run("comment", "--operator", op.name, wo, "--text", "left at 18:00")
    assert r.returncode == 0, r.stderr
    r = await run("show", "--operator", op.name, wo)
    shown = json.loads(r.stdout)
    assert shown["badgeNumber"] == "B123" and shown["comments"][0]["commentedBy"] == op.name
    r = await run("complete", "--operator", op.name, wo, "--json")
    assert json.loads(r.stdout)["ticketStatus"] == "Completed"
    for args in (("complete", "--operator", op.name, wo), ("comment", "--operator", op.name, closed, "--text", "x"),
                 ("check-in", "--operator", op.name, "WO0000000", "--badge-number", "1"),
                 ("check-in", "--operator", op.name, closed, "--badge-number", ""),
                 ("comment", "--operator", op.name, wo, "--text", ""),
                 ("roster", "--operator", op.name, "--status", "Bogus"),
                 ("roster", "--operator", op.name, "--site", "NOPE01"),
                 ("roster", "--operator", op.name, "--date", "2026-02-30"),
                 ("show", "--operator", "Nobody At All", wo)):
        r = await run(*args)
        assert r.returncode != 0 and "Traceback" not in r.stderr + r.stdout, args
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:"), (args, r.stderr)
    r = await run("expire-tickets", "--json")
    assert r.returncode == 0 and "moved" in json.loads(r.stdout), r.stderr
