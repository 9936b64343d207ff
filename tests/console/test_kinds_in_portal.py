"""The other request kinds in the portal (SPEC §13; issue 22): the list and the approver's queue name
each kind; a permanent badge is decided location by location on its page, by its own approvers."""

from __future__ import annotations

from datetime import timedelta

from gatehouse.kit.sitetime import site_today
from tests.console.test_desk import _browser, pytestmark, shots  # noqa: F401
from tests.console.test_portal import _person, _sign_in
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
