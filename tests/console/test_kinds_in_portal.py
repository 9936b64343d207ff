"""The other request kinds in the portal (SPEC §13; issue 22): the list and the approver's queue name
each kind; a permanent badge is decided location by location on its page, by its own approvers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gatehouse.kit.sitetime import site_today
from tests.console.test_desk import _browser, pytestmark, shots  # noqa: F401
from tests.console.test_portal import _person, _sign_in
from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server

API = "/v1/facility-access"
REQUESTER = ["permanent-badge:request", "pop-poe:request", "visitor-access:request", "tickets:read"]


async def test_a_badge_decided_location_by_location_in_the_portal(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant(perms=REQUESTER, site_count=2)
    (site_a, locs_a), (site_b, _locs_b) = list(tenant.sites.items())
    tag = tenant.account_id.lower()
    requester = await _person(factory, db, tenant, REQUESTER, f"req.{tag}@customer.example")
    await _person(factory, db, tenant, REQUESTER + ["permanent-badge:approve"], f"badge.{tag}@customer.example")
    await _person(factory, db, tenant, REQUESTER + ["visitor-access:approve"], f"visit.{tag}@customer.example")
    start = site_today("America/New_York").isoformat()
    end = (site_today("America/New_York") + timedelta(days=200)).isoformat()
    sites = [{"site": code, "locations": [{"location": locs[0], "accessStartDate": start, "accessEndDate": end}]}
             for code, locs in tenant.sites.items()]
    r = await client.post(f"{API}/perm-badges", json={
        "firstName": "Pat", "lastName": "<b>Holder</b>", "email": "pat@example.com", "company": "ABC",
        "badgeStartDate": start, "sites": sites}, headers=requester.headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                # a visitor approver sees the badge in the queue, but it is not theirs to decide
                page, outside, _dialogs = await _sign_in(browser, base, f"visit.{tag}@customer.example")
                await page.click("nav >> text=Approvals")
                row = page.locator("table.queue tr", has_text=wo)
                assert "Permanent Badge · New Badge" in await row.inner_text()
                assert "for its own approvers" in await row.inner_text()
                assert await page.locator(f"button[aria-label='Approve {wo}']").count() == 0
                await page.screenshot(path=str(shots / "kinds-01-queue-visitor-approver.png"), full_page=True)
                await page.context.close()
                # the badge approver decides each location on the badge's page
                page, outside, _dialogs = await _sign_in(browser, base, f"badge.{tag}@customer.example")
                await page.click("nav >> text=Approvals")
                await page.click("text=Decide location by location")
                assert "<b>Holder</b>" in await page.inner_text("h1")  # escaped, shown as typed
                await page.check(f"input[aria-label='Approve {site_a} {locs_a[0]}']")
                await page.check(f"input[aria-label='Deny {site_b} Cage A']")
                await page.screenshot(path=str(shots / "kinds-02-decide-locations.png"), full_page=True)
                await page.click("text=Save decisions")
                await page.wait_for_selector("text=Decisions saved: Approved.")
                facts = await page.inner_text("dl")
                assert "Approved" in facts and "Denied" in facts
                await page.screenshot(path=str(shots / "kinds-03-decided.png"), full_page=True)
                await page.click("nav >> text=Requests")
                assert "Permanent Badge · New Badge" in await page.inner_text("table")
                assert outside == []
            finally:
                await browser.close()
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=requester.headers)).json()
    assert {(s["site"], s["locations"][0]["approvalStatus"]) for s in t["site"]} == {(site_a, "Approved"),
                                                                                     (site_b, "Denied")}


async def test_a_pop_poe_request_and_daily_hours_from_the_form(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    from gatehouse.sites import service as sites

    tenant = await factory.tenant(perms=REQUESTER)
    site, locs = next(iter(tenant.sites.items()))
    async with db.write() as s:
        await sites.create_location(s, site, "MMR 1", kind="pop-poe")
    tag = tenant.account_id.lower()
    requester = await _person(factory, db, tenant, REQUESTER, f"pp.{tag}@customer.example")
    day = (site_today("America/New_York") + timedelta(days=1)).isoformat()
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page, outside, _dialogs = await _sign_in(browser, base, f"pp.{tag}@customer.example")
                await page.click("nav >> text=New request")
                await page.fill("#v-0-first", "Carl")
                await page.fill("#v-0-last", "Rier")
                await page.fill("#v-0-email", "carl@carrier.example")
                await page.check(f"#site-{site}")
                await page.check(f"input[name='room-{site}'][value='MMR 1']")
                await page.check(f"input[name='loc-{site}'][value='{locs[0]}']")  # both kinds: refused
                await page.fill("#badge-start", day)
                await page.fill("#badge-end", day)
                await page.fill(f"#start-time-{site}", "09:00")
                await page.fill(f"#end-time-{site}", "08:00")
                await page.fill("#company", "Carrier Co")
                await page.fill("#host-first", "Hal")
                await page.fill("#host-last", "Host")
                await page.fill("#host-company", "Tenant Inc")
                await page.fill("#escort-first", "Sam")
                await page.fill("#escort-last", "Smith")
                await page.click("button.primary")
                await page.wait_for_selector("#problems")
                assert "separate requests" in await page.inner_text("#problems")
                await page.uncheck(f"input[name='loc-{site}'][value='{locs[0]}']")
                await page.click("button.primary")
                await page.wait_for_selector("#problems")  # the window ends before it starts
                assert "must be after the window's start" in await page.inner_text("#problems")
                await page.screenshot(path=str(shots / "kinds-04-pop-poe-form-error.png"), full_page=True)
                await page.fill(f"#end-time-{site}", "17:30")
                await page.click("button.primary")
                await page.wait_for_selector("text=Created 1 work order")
                assert "PoP/POE Room Access" in await page.inner_text("table")
                await page.screenshot(path=str(shots / "kinds-05-pop-poe-listed.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()
    rows = (await client.get(f"{API}/pop-poes/access-requests", headers=requester.headers)).json()["content"]
    (row,) = rows
    t = (await client.get(f"{API}/access-tickets/{row['id']}", headers=requester.headers)).json()
    loc = t["site"][0]["locations"][0]
    assert (loc["location"], loc["accessStartTime"], loc["accessEndTime"]) == ("MMR 1", "09:00:00", "17:30:00")


async def test_badges_and_a_visitor_terminated_from_the_portal(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant(perms=REQUESTER + ["permanent-badge:approve", "visitor-access:approve"])
    site, locs = next(iter(tenant.sites.items()))
    tag = tenant.account_id.lower()
    caller = await _person(factory, db, tenant, REQUESTER + ["permanent-badge:approve", "visitor-access:approve"],
                           f"adm.{tag}@customer.example")
    today = site_today("America/New_York")
    visit = request_for(tenant, start=0, end=3)
    visit["visitors"][0]["visitorEmail"] = "leaver@example.com"
    r = await client.post(f"{API}/visitors/access-requests", json=[visit], headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page, outside, _dialogs = await _sign_in(browser, base, f"adm.{tag}@customer.example")
                await page.click("nav >> text=Badges")
                await page.fill("#b-first", "Pat")
                await page.fill("#b-last", "<i>Holder</i>")
                await page.fill("#b-email", "pat@example.com")
                await page.fill("#b-company", "ABC")
                await page.fill("#b-start", today.isoformat())
                await page.check(f"input[name='loc-{site}'][value='{locs[0]}']")
                await page.click("text=Request the badge")
                await page.wait_for_selector("text=Requested: WO")
                table = await page.inner_text("table")
                assert "<i>Holder</i>" in table and "Active" in table  # may approve: active at once
                # the desk checks the holder in: the last check-in reads in the site's time, zone named
                badge_wo = re.search(r"Requested: (WO\d+)", await page.inner_text("main")).group(1)  # type: ignore[union-attr]
                op = await factory.operator([site])
                r = await client.put(f"/ops/v1/access-tickets/{badge_wo}/check-in", json={"badgeNumber": "PB-7"},
                                     headers=op.token_headers)
                assert r.status_code == 200, r.text
                await page.click("nav >> text=Badges")
                zone_name = datetime.now(ZoneInfo("America/New_York")).strftime("%Z")
                row = await page.inner_text("tr:has-text('pat@example.com')")
                assert re.search(rf"\d{{4}}-\d\d-\d\d \d\d:\d\d {zone_name}", row), row
                await page.screenshot(path=str(shots / "kinds-06-badges.png"), full_page=True)
                await page.click("button[aria-label='End the access of pat@example.com']")
                await page.wait_for_selector("text=Access ends: WO")
                assert "Terminated" in await page.inner_text("table")
                # a visitor's access, ended from the requests page
                await page.click("nav >> text=Requests")
                await page.fill("#t-first", "V0")
                await page.fill("#t-last", "Doe")
                await page.fill("#t-email", "leaver@example.com")
                await page.click("text=End their access")
                await page.wait_for_selector("text=Terminated: WO")
                await page.screenshot(path=str(shots / "kinds-07-terminated.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()
    t = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert t["visitorBadgeEndDate"] == today.isoformat()
