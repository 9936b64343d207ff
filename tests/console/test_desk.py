"""The security desk in a real browser (issue 12, SPEC §12): Debian's chromium driven by Playwright,
offline (every request outside the server is refused). A guard signs in, finds today's visitors,
scans a pass, checks a visitor in and out, comments; script payloads stay text; CSRF, other
sites' tickets and ended sessions are refused."""

from __future__ import annotations

import re

import os
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from gatehouse.kit.sitetime import site_today
from tests.console.signin import form_token, sign_in
from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server

pytestmark = pytest.mark.skipif(not shutil.which("chromium") and not os.environ.get("CI"),
                                reason="Debian chromium is installed by scripts/test.sh (never skipped in CI)")
API = "/v1/facility-access"
PASSWORD = "correct horse battery"


@pytest.fixture
def shots(tmp_path) -> Path:  # type: ignore[no-untyped-def]
    folder = Path(os.environ.get("GATEHOUSE_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _guard(factory, db, site: str, email: str, roles: tuple[str, ...] = ("desk",)):  # type: ignore[no-untyped-def]
    op = await factory.operator([site], roles=roles)
    async with db.write() as s:
        await accounts.set_email(s, op.name, email)
    await set_password(db, op.name, PASSWORD)
    return op


async def _browser(pw):  # type: ignore[no-untyped-def]
    return await pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])


async def _offline(page, base: str) -> list[str]:  # type: ignore[no-untyped-def]
    outside: list[str] = []

    async def route(r):  # type: ignore[no-untyped-def]
        if r.request.url.startswith(base):
            await r.continue_()
        else:
            outside.append(r.request.url)
            await r.abort()

    await page.route("**/*", route)
    return outside


def _dated(body: dict, first: str, last: str) -> dict:
    body.update(visitorBadgeStartDate=first, visitorBadgeEndDate=last)
    for s in body["sites"]:
        for loc in s["locations"]:
            loc.update(accessStartDate=first, accessEndDate=last)
    return body


async def test_a_guard_works_the_desk(settings, factory, db, client, shots):
    from playwright.async_api import async_playwright

    today = site_today("America/New_York")  # the test sites' timezone: the desk's "today"
    first, last = today.isoformat(), (today + timedelta(days=1)).isoformat()

    tenant = await factory.tenant()
    customer = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    guard = await _guard(factory, db, site, f"guard.{site.lower()}@operator.example")
    made = []
    for name, company, notes in (("Ada", "Acme <b>Bold</b>", "Bring the <script>alert(1)</script> laptop"),
                                  ("<i>Eve</i>", "<img src=x onerror=alert(2)>", "plain")):
        body = _dated(request_for(tenant, start=0, end=1), first, last)
        body["visitors"][0].update(visitorFirstName=name, visitorLastName="Visitor")
        body.update(company=company, notes=notes, visitorHostCompany="<svg onload=alert(3)>")
        r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=customer.headers)
        assert r.status_code == 200, r.text
        made.append(r.json()["workOrder"][0]["workOrderId"])
    wo, wo_eve = made
    elsewhere = await factory.tenant()
    other_wo = (await client.post(f"{API}/visitors/access-requests", json=[_dated(request_for(elsewhere), first, last)],
                                  headers=next(iter(elsewhere.users.values())).headers)).json()["workOrder"][0]["workOrderId"]

    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                outside = await _offline(page, base)
                dialogs: list[str] = []
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

                await page.goto(f"{base}/console/desk")  # not signed in: the sign-in page
                assert page.url.endswith("/console/login?next=%2Fconsole%2Fdesk")
                await page.screenshot(path=str(shots / "desk-01-login.png"))
                await page.fill("#email", f"guard.{site.lower()}@operator.example")
                await page.fill("#password", "wrong password!")
                await page.click("button[type=submit]")
                assert "Wrong email or password" in await page.inner_text("[role=alert]")
                await page.fill("#password", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{base}/console/desk")
                expected = page.locator("#h-expected .count")
                assert await expected.inner_text() == "2"
                assert "<i>Eve</i>" in await page.inner_text("#roster")  # shown as text
                await page.screenshot(path=str(shots / "desk-02-roster.png"), full_page=True)

                await page.fill("#q", "acme")  # search by company
                await page.click("form.filters button")
                assert await page.locator("#h-expected .count").inner_text() == "1"

                # the scan field: a keyboard-wedge scanner types the pass's QR content and Enter
                await page.fill("#scan", wo.lower())
                await page.press("#scan", "Enter")
                await page.wait_for_url(f"{base}/console/desk/tickets/{wo}")
                text = await page.inner_text("#ticket-panel")
                assert "Bring the <script>alert(1)</script> laptop" in text and "Acme <b>Bold</b>" in text
                await page.evaluate("window.__sameDocument = true")
                await page.fill("#badge_number", "B-1001")
                await page.click("form[action$='/check-in'] button")
                await page.wait_for_selector("#ticket-panel [role=status]")
                assert "Checked in with badge B-1001" in await page.inner_text("#ticket-panel")
                assert "In Progress" in await page.inner_text("#ticket-panel h1")
                assert await page.evaluate("window.__sameDocument") is True  # no full reload
                await page.screenshot(path=str(shots / "desk-03-checked-in.png"), full_page=True)
                # the roster rendered at sign-in is reused only while its rows are unchanged
                roster = await (await page.request.get(f"{base}/console/desk?fragment=1")).text()
                assert re.search(r'id="h-on_site">On site <span class="count">1<', roster), roster[:500]
                assert re.search(r'id="h-expected">Expected <span class="count">1<', roster)
                await page.fill("#comment", "<script>alert(4)</script> at door 3")
                await page.click("form[action$='/comment'] button")
                await page.wait_for_selector("text=Comment added.")
                assert "<script>alert(4)</script> at door 3" in await page.inner_text(".comments")
                await page.click("form[action$='/check-out'] button")
                await page.wait_for_selector("text=Checked out for today.")
                await page.click("form[action$='/check-in'] button")  # no badge number: the browser asks
                assert await page.evaluate("document.querySelector('#badge_number').validity.valueMissing")

                # another site's ticket and a wrong code are not found
                response = await page.goto(f"{base}/console/desk/tickets/{other_wo}")
                assert response.status == 404
                await page.goto(f"{base}/console/desk")
                await page.fill("#scan", other_wo)
                await page.press("#scan", "Enter")
                await page.wait_for_url(f"{base}/console/desk?*")
                assert "No ticket" in await page.inner_text("[role=alert]")
                await page.goto(f"{base}/console/desk/tickets/{wo_eve}")
                await page.screenshot(path=str(shots / "desk-04-ticket.png"), full_page=True)

                # keyboard only: Tab reaches the scan field's button and the filters
                await page.goto(f"{base}/console/desk")
                await page.keyboard.press("Tab")
                focused = await page.evaluate("document.activeElement.tagName + '#' + document.activeElement.id")
                assert focused

                # security headers
                r = await page.request.get(f"{base}/console/desk")
                assert "script-src 'self'" in r.headers["content-security-policy"]
                assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "same-origin"

                # CSRF: the session cookie alone does not make a form post
                cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
                async with httpx.AsyncClient(base_url=base, cookies=cookies) as c:
                    r = await c.post(f"/console/desk/tickets/{wo}/complete", data={})
                    assert r.status_code == 403
                    r = await c.post(f"/console/desk/tickets/{wo}/complete", data={"csrf": "forged"})
                    assert r.status_code == 403
                # tablet width still works
                await page.set_viewport_size({"width": 800, "height": 1100})
                await page.goto(f"{base}/console/desk")
                await page.screenshot(path=str(shots / "desk-05-tablet.png"), full_page=True)
                # sign out ends the session everywhere it is checked
                await page.click("text=Sign out")
                await page.wait_for_url(f"{base}/console/login")
                async with httpx.AsyncClient(base_url=base, cookies=cookies) as c:
                    r = await c.get("/console/desk")
                    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=%2Fconsole%2Fdesk"
                assert dialogs == [] and outside == []
            finally:
                await browser.close()
    r = await client.get(f"/ops/v1/access-tickets/{wo}", headers=guard.token_headers)
    assert r.json()["ticketStatus"] == "In Progress" and r.json()["badgeNumber"] == "B-1001"
    r = await client.get("/ops/v1/audit-events", params={"objectId": wo, "type": "access_ticket.checked_in"},
                         headers=guard.token_headers)
    assert [(e["actor"]["kind"], e["actor"]["name"]) for e in r.json()["content"]] == [("operator", guard.name)]


async def test_sign_in_lock_out_and_idle_sessions(settings, factory, db, client):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    email = f"lock.{site.lower()}@operator.example"
    await _guard(factory, db, site, email)
    with real_server(settings) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            codes = [(await sign_in(c, email, "nope nope nope")).status_code for _ in range(7)]
            assert codes[:5] == [401] * 5 and codes[-1] == 429
            r = await sign_in(c, email, PASSWORD)
            assert r.status_code == 429  # locked, even with the right password
            r = await c.post("/console/login", data={"email": email, "password": PASSWORD,
                                                     "csrf": await form_token(c)},
                             headers={"Origin": "https://evil.example"})
            assert r.status_code == 403
        # after sign-in the console goes only to its own pages: never elsewhere (no open redirect)
        other = f"safe.{site.lower()}@operator.example"
        await _guard(factory, db, site, other)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            for target, expected in (("//evil.example/x", "/console/"), ("https://evil.example", "/console/"),
                                     ("/console//evil.example", "/console/"), ("/console/\\evil", "/console/"),
                                     ("/console/desk?date=2026-01-01", "/console/desk?date=2026-01-01")):
                c.cookies.clear()  # signed out again: the form is shown, not skipped
                r = await sign_in(c, other, PASSWORD, next=target)
                assert r.status_code == 303 and r.headers["location"] == expected, (target, r.headers["location"])


async def test_an_approver_follows_the_mail_link_and_approves(settings, factory, db, client, shots):
    """The "approval needed" mail links to /console/requests/{id}: the approver signs in, sees the
    request, approves it in Chromium; the trail names the approver and the desk's guard."""
    from playwright.async_api import async_playwright

    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read"])
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=["visitor-access:approve", "tickets:read", "audit:read"])
    email = f"approver.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, approver.name, email)
    await set_password(db, approver.name, PASSWORD)
    today = site_today("America/New_York")
    body = _dated(request_for(tenant), today.isoformat(), today.isoformat())
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
          ).json()["workOrder"][0]["workOrderId"]
    stranger = await factory.tenant()
    foreign = (await client.post(f"{API}/visitors/access-requests", json=[_dated(request_for(stranger), today.isoformat(),
                                                                                   today.isoformat())],
                                 headers=next(iter(stranger.users.values())).headers)).json()["workOrder"][0]["workOrderId"]
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                outside = await _offline(page, base)
                await page.goto(f"{base}/console/requests/{wo}")  # the mail's link, signed out: sign in first
                assert "/console/login?next=" in page.url
                await page.fill("#email", email)
                await page.fill("#password", PASSWORD)
                await page.click("button[type=submit]")
                # then straight to the request, in the account that holds it
                await page.wait_for_url(f"{base}/console/a/{tenant.account_id}/requests/{wo}")
                assert "Pending Approval" in await page.inner_text("h1")
                await page.screenshot(path=str(shots / "request-01-pending.png"), full_page=True)
                await page.click("form[action$='/approve'] button")
                await page.wait_for_selector("[role=status]")
                assert "Approved" in await page.inner_text("h1")
                await page.screenshot(path=str(shots / "request-02-approved.png"), full_page=True)
                response = await page.goto(f"{base}/console/requests/{foreign}")
                assert response.status == 404  # another customer's request
                assert outside == []
            finally:
                await browser.close()
    trail = (await client.get("/v1/audit-events", params={"objectId": wo, "type": "access_ticket.approved"},
                              headers=approver.headers)).json()["content"]
    assert [e["actor"]["name"] for e in trail] == [approver.name] and trail[0]["actor"]["kind"] == "user"
