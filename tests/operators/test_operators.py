"""Operator API, CLI and the end-of-badge job."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gatehouse.cli.main import cli
from gatehouse.facility_access.expiry import expire_tickets
from gatehouse.facility_access.models import TicketEvent, WorkOrder
from gatehouse.kit.sitetime import site_today
from tests.factories import make_ticket

OPS = "/ops/v1/access-tickets"


async def setup(factory, timezone="America/New_York"):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant(timezone=timezone)
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    return tenant, site, op


async def test_full_lifecycle_through_operator(factory, client, db):
    tenant, site, op = await setup(factory)
    today = site_today("America/New_York")
    wo = await make_ticket(db, tenant, status="Approved", badge_start=today, badge_end=today + timedelta(days=2))
    rows = (await client.get(OPS, params={"site": site}, headers=op.token_headers)).json()["content"]
    assert [r["ticketId"] for r in rows] == [wo]
    assert rows[0]["accountId"] == tenant.account_id and rows[0]["locations"][0]["location"] == "Cage A"
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B-1001"}, headers=op.token_headers)
    assert r.status_code == 200 and r.json() == {"ticketId": wo, "ticketStatus": "In Progress", "badgeNumber": "B-1001"}
    r = await client.put(f"{OPS}/{wo}/check-out", headers=op.token_headers)
    assert r.json()["ticketStatus"] == "In Progress"  # before the badge end date: daily check-out
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B-1002"}, headers=op.token_headers)
    assert r.status_code == 200 and r.json()["badgeNumber"] == "B-1002"
    r = await client.post(f"{OPS}/{wo}/comments", json={"comment": "Visitor arrived"}, headers=op.token_headers)
    assert r.status_code == 200 and r.json()["commentedBy"] == op.name
    r = await client.put(f"{OPS}/{wo}/complete", headers=op.token_headers)
    assert r.json()["ticketStatus"] == "Completed"
    assert (await client.put(f"{OPS}/{wo}/complete", headers=op.token_headers)).status_code == 409
    caller = next(iter(tenant.users.values()))
    d = (await client.get(f"/v1/facility-access/access-tickets/{wo}", headers=caller.headers)).json()
    assert d["ticketStatus"] == "Completed" and d["modifiedBy"] == op.name and d["closedOn"]
    assert d["comments"][0]["commentedBy"] == op.name
    async with db.read() as s:
        events = (await s.execute(select(TicketEvent).where(TicketEvent.work_order_id == wo)
                                  .order_by(TicketEvent.id))).scalars().all()
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "Approved"), ("Approved", "In Progress"), ("In Progress", "In Progress"),
        ("In Progress", "In Progress"), ("In Progress", "Completed")]
    assert all(e.actor == op.name for e in events[1:])


async def test_check_out_on_badge_end_completes(factory, client, db):
    tenant, site, op = await setup(factory)
    today = site_today("America/New_York")
    wo = await make_ticket(db, tenant, status="In Progress", badge_start=today, badge_end=today)
    r = await client.put(f"{OPS}/{wo}/check-out", headers=op.token_headers)
    assert r.json()["ticketStatus"] == "Completed"


async def test_check_in_rules(factory, client, db):
    tenant, site, op = await setup(factory, timezone="Pacific/Kiritimati")
    today = site_today("Pacific/Kiritimati")
    later = await make_ticket(db, tenant, status="Approved", badge_start=today + timedelta(days=2),  # past the early hour
                              badge_end=today + timedelta(days=3))
    r = await client.put(f"{OPS}/{later}/check-in", json={"badgeNumber": "1"}, headers=op.token_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "OUTSIDE_ACCESS_WINDOW"
    window = await make_ticket(db, tenant, status="Approved", badge_start=today - timedelta(days=1),
                               badge_end=today + timedelta(days=3), access_start=today + timedelta(days=2),
                               access_end=today + timedelta(days=3))
    r = await client.put(f"{OPS}/{window}/check-in", json={"badgeNumber": "1"}, headers=op.token_headers)
    assert r.status_code == 409
    pending = await make_ticket(db, tenant, status="Pending Approval", badge_start=today)
    r = await client.put(f"{OPS}/{pending}/check-in", json={"badgeNumber": "1"}, headers=op.token_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "INVALID_TICKET_STATUS"
    ok = await make_ticket(db, tenant, status="Approved", badge_start=today)
    for bad in ({}, {"badgeNumber": ""}, {"badgeNumber": "x" * 41}, {"badgeNumber": 7}):
        r = await client.put(f"{OPS}/{ok}/check-in", json=bad, headers=op.token_headers)
        assert r.status_code == 400, bad
    r = await client.put(f"{OPS}/{ok}/check-in", json={"badgeNumber": "K-1"}, headers=op.token_headers)
    assert r.status_code == 200


async def test_operator_scope(factory, client, db):
    tenant, site, op = await setup(factory)
    elsewhere = await factory.tenant()
    foreign = await make_ticket(db, elsewhere)
    for method, url, body in (("GET", f"{OPS}/{foreign}", None),
                              ("PUT", f"{OPS}/{foreign}/check-in", {"badgeNumber": "1"}),
                              ("PUT", f"{OPS}/{foreign}/check-out", None), ("PUT", f"{OPS}/{foreign}/complete", None),
                              ("POST", f"{OPS}/{foreign}/comments", {"comment": "x"})):
        r = await client.request(method, url, json=body, headers=op.token_headers)
        assert r.status_code == 404, (method, url)
    r = await client.get(OPS, params={"site": next(iter(elsewhere.sites))}, headers=op.token_headers)
    assert r.status_code == 404
    customer = next(iter(tenant.users.values()))
    assert (await client.get(OPS, headers=customer.token_headers)).status_code == 403
    wo = await make_ticket(db, tenant, status="Pending Approval")
    # operators never approve, edit or cancel
    for method, url in (("PUT", f"/v1/facility-access/access-tickets/{wo}/approve"),
                        ("PUT", f"/v1/facility-access/access-tickets/{wo}/cancel")):
        r = await client.request(method, url, headers={**op.token_headers, "Master-Account-Id": tenant.master_account_id,
                                                       "Account-Id": tenant.account_id})
        assert r.status_code == 403
    assert (await client.get(OPS, params={"date": "yesterday"}, headers=op.token_headers)).status_code == 400
    assert (await client.get(OPS, params={"status": "Open"}, headers=op.token_headers)).status_code == 400


async def test_roster_date_and_status(factory, client, db):
    tenant, site, op = await setup(factory)
    today = site_today("America/New_York")
    a = await make_ticket(db, tenant, status="Approved", badge_start=today, badge_end=today + timedelta(days=5),
                          access_start=today + timedelta(days=3), access_end=today + timedelta(days=4))
    b = await make_ticket(db, tenant, status="Cancelled", badge_start=today, badge_end=today)
    c = await make_ticket(db, tenant, status="Approved", badge_start=today, badge_end=today)
    ids = [r["ticketId"] for r in (await client.get(OPS, headers=op.token_headers)).json()["content"]]
    assert c in ids and a not in ids
    assert b not in ids  # cancelled tickets only when asked for: the desk wants who it can expect
    day3 = (today + timedelta(days=3)).isoformat()
    ids = [r["ticketId"] for r in (await client.get(OPS, params={"date": day3}, headers=op.token_headers)).json()["content"]]
    assert ids == [a]
    rows = (await client.get(OPS, params={"status": "Cancelled"}, headers=op.token_headers)).json()["content"]
    assert [r["ticketId"] for r in rows] == [b]
    bad = await client.get(OPS, params={"status": "Nope"}, headers=op.token_headers)
    assert bad.status_code == 400  # the refusal names the field and the rule (SPEC §1)
    assert [(d["field"], d["code"]) for d in bad.json()["error"]["details"]] == [("status", "INVALID_VALUE")]


async def test_expiry_job(factory, client, db):
    tenant, site, op = await setup(factory)
    past = date.today() - timedelta(days=3)
    pending = await make_ticket(db, tenant, status="Pending Approval", badge_start=past, badge_end=past)
    approved = await make_ticket(db, tenant, status="Approved", badge_start=past, badge_end=past)
    running = await make_ticket(db, tenant, status="In Progress", badge_start=past, badge_end=past)
    current = await make_ticket(db, tenant, status="Approved", badge_start=date.today() + timedelta(days=1))
    results = await asyncio.gather(expire_tickets(db), expire_tickets(db))  # two processes at once
    assert sum(results) >= 3
    async with db.read() as s:
        rows = {w.id: w for w in (await s.execute(select(WorkOrder).where(
            WorkOrder.id.in_([pending, approved, running, current])))).scalars()}
        events = (await s.execute(select(TicketEvent).where(TicketEvent.work_order_id.in_([pending, approved, running]),
                                                             TicketEvent.action == "expire"))).scalars().all()
    assert rows[pending].status == "Cancelled" and rows[pending].cancel_reason == "Request no longer needed"
    assert rows[approved].status == "Completed" and rows[running].status == "Completed"
    assert rows[current].status == "Approved"
    assert all(rows[i].modified_by == "system" and rows[i].closed_at for i in (pending, approved, running))
    assert len(events) == 3  # each moved exactly once despite the race


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(settings.data_dir))
    return lambda *a: CliRunner().invoke(cli, list(a))


async def test_ops_cli(factory, db, run):
    tenant, site, op = await setup(factory)
    today = site_today("America/New_York")
    wo = await make_ticket(db, tenant, status="Approved", badge_start=today, badge_end=today)

    def invoke(*args):  # type: ignore[no-untyped-def]
        return asyncio.get_running_loop().run_in_executor(None, lambda: run(*args))

    r = await invoke("ops", "roster", "--operator", op.name, "--site", site, "--json")
    assert r.exit_code == 0, r.output
    assert wo in r.output
    r = await invoke("ops", "check-in", "--operator", op.name, wo, "--badge-number", "C-9", "--json")
    assert r.exit_code == 0 and '"In Progress"' in r.output, r.output
    r = await invoke("ops", "comment", "--operator", op.name, wo, "--text", "hello")
    assert r.exit_code == 0
    r = await invoke("ops", "check-out", "--operator", op.name, wo, "--json")
    assert '"Completed"' in r.output
    r = await invoke("ops", "complete", "--operator", op.name, wo)
    assert r.exit_code == 1 and r.output.startswith("error:") and "Traceback" not in r.output
    r = await invoke("ops", "show", "--operator", "Nobody", wo)
    assert r.exit_code == 1 and "no operator" in r.output
    r = await invoke("ops", "roster", "--operator", op.name, "--date", "tomorrow")
    assert r.exit_code == 1
    r = await invoke("ops", "expire-tickets", "--json")
    assert r.exit_code == 0 and '"moved"' in r.output


async def test_roster_pages(factory, client, db):
    """Issue 8 #7: the roster is paginated, never one unbounded reply."""
    tenant, site, op = await setup(factory)
    today = site_today("America/New_York")
    made = {await make_ticket(db, tenant, status="Approved", badge_start=today, badge_end=today) for _ in range(7)}
    seen: list[str] = []
    for page in range(4):
        r = await client.get(OPS, params={"site": site, "size": 3, "page": page}, headers=op.token_headers)
        assert r.status_code == 200
        body = r.json()
        seen += [row["ticketId"] for row in body["content"]]
        assert body["pageable"] == {"page": page, "size": 3, "last": page >= 2}
    assert sorted(seen) == sorted(made) and len(seen) == 7
    r = await client.get(OPS, params={"site": site, "size": 501}, headers=op.token_headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "size"
