"""The watchlist at the desk in Chromium (SPEC §14): a watchlist operator adds an entry, the guard's
check-in of that visitor is stopped by a hold shown in red, the operator clears it, check-in goes on."""

from __future__ import annotations

from tests.console.signin import browser_sign_in
from tests.console.test_desk import PASSWORD, _browser, _guard, _offline, pytestmark, shots  # noqa: F401
from tests.facility_access.conftest import request_for
from tests.factories import rand
from tests.harness.test_attack_defects import real_server

API = "/v1/facility-access"


async def test_a_watchlist_hit_holds_the_desk_until_security_clears_it(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    email = f"sec.{site.lower()}@operator.example"
    await _guard(factory, db, site, email, roles=("desk", "watchlist"))
    first, last = f"Mallory{rand(4).lower()}", "Blocked"
    body = request_for(tenant, start=0, end=0)
    body["visitors"][0].update(visitorFirstName=first, visitorLastName=last)
    caller = next(iter(tenant.users.values()))
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                for width, height in ((1280, 800), (768, 1024)):
                    page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
                    outside = await _offline(page, base)
                    errors: list[str] = []
                    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                    await browser_sign_in(page, base, email, PASSWORD)
                    await page.click("nav >> text=Watchlist")
                    if width == 1280:  # added after the request was made: caught at check-in
                        await page.fill("#first_name", first)
                        await page.fill("#last_name", last)
                        await page.fill("#reason", "<b>Tailgating</b> in 2025")
                        await page.select_option("#site", site)
                        await page.click("text=Add to the watchlist")
                        await page.wait_for_selector("text=Added WL")
                    assert "<b>Tailgating</b> in 2025" in await page.inner_text("table")  # escaped, as text
                    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                    await page.screenshot(path=str(shots / f"watchlist-{width}.png"), full_page=True)
                    await page.goto(f"{base}/console/desk/tickets/{wo}")
                    if width == 1280:
                        await page.fill("#badge_number", "B-42")
                        await page.click("button:has-text('Check in')")
                        await page.wait_for_selector(".hold")
                        assert "security hold" in (await page.inner_text("#ticket-panel")).lower()
                        await page.goto(f"{base}/console/desk?site={site}")
                        assert "security hold" in (await page.inner_text("main")).lower()
                        await page.goto(f"{base}/console/desk/tickets/{wo}")
                    hold = await page.inner_text(".hold")
                    assert "Do not check in" in hold and "<b>Tailgating</b>" in hold
                    assert await page.locator("#badge_number").count() == 0  # no check-in offered
                    await page.screenshot(path=str(shots / f"hold-{width}.png"), full_page=True)
                    assert outside == [] and [e for e in errors if "409" not in e] == []  # the refused check-in is a 409
                await page.fill("#hold_reason", "Different person: date of birth differs")
                await page.click("text=Clear: not this person")
                await page.wait_for_selector("text=Hold cleared")
                assert await page.locator("#badge_number").count() == 1
                await page.screenshot(path=str(shots / "hold-cleared.png"), full_page=True)
            finally:
                await browser.close()
    detail = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert detail["ticketStatus"] == "Approved" and "hold" not in str(detail).lower()
