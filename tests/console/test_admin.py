"""Operator administration in the browser (SPEC §16; issue 25): an operator admin creates a customer,
a site with a location, grants it, invites a person whose mailed link sets a password; that person
signs in and requests a visit. Roles, CSRF, the second-factor policy and the refusals, over HTTP."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.auth.principal import Principal  # noqa: F401 - the tokens' roles are checked through the API
from gatehouse.events.models import Event
from gatehouse.kit.sitetime import site_today
from tests.console.signin import browser_sign_in, sign_in
from tests.console.test_desk import PASSWORD, _browser, _guard, _offline, pytestmark, shots  # noqa: F401
from tests.factories import rand
from tests.harness.test_attack_defects import real_server
from tests.notifications.test_mail import mailer, smtp  # noqa: F401


async def _mail_link(smtp, to: str) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    for _ in range(200):
        mails = [m for m in smtp.all if m["To"] and m["To"].lower() == to.lower()]
        if mails:
            text = mails[0].get_body(("plain",)).get_content()
            found = re.search(r"https?://\S+(/console/invite/\S+)", text)
            assert found, text
            return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no mail to {to}")


async def test_an_operator_admin_sets_up_a_customer_who_then_requests_a_visit(
        settings, factory, db, shots, smtp, mailer):  # noqa: F811
    from playwright.async_api import async_playwright

    home = await factory.site()
    tag = rand(6)
    admin_email = f"admin.{tag.lower()}@operator.example"
    await _guard(factory, db, home, admin_email, roles=("admin",))
    master, account, site = f"M{tag}", f"A{tag}{rand(11)}", rand(6)
    person = f"new.{tag.lower()}@customer.example"
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
                outside = await _offline(page, base)
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                await browser_sign_in(page, base, admin_email, PASSWORD)
                await page.click("nav >> text=Administration")
                await page.fill("#master_id", master)
                await page.fill("#name", f"<b>Acme</b> {tag}")
                await page.click("text=Create")
                await page.wait_for_selector("text=Created.")
                await page.fill("#account_id", account)
                await page.fill("#account_name", f"Acme Ops {tag}")
                await page.click("text=Add the account")
                await page.wait_for_selector("text=Account created.")
                await page.click("nav.tabs >> text=Sites")
                await page.fill("#code", site)
                await page.select_option("#timezone", "America/New_York")
                await page.fill("#address", "1 Fibre Way")
                await page.click("text=Create the site")
                await page.wait_for_selector("text=Created.")
                await page.fill("#loc_name", "Cage 7")
                await page.click("text=Add the location")
                await page.wait_for_selector("text=Location added.")
                await page.fill("#loc_name", "MMR 2")
                await page.check("input[name=pop_poe]")
                await page.click("text=Add the location")
                await page.wait_for_selector("text=PoP/POE room")
                await page.select_option("#grant_account", account)
                await page.select_option("#grant_location", "Cage 7")
                await page.click("button:has-text('Grant')")
                await page.wait_for_selector("text=Granted.")
                assert "Cage 7" in await page.inner_text("table")
                await page.screenshot(path=str(shots / "admin-site-1280.png"), full_page=True)
                await page.click("nav.tabs >> text=Customers")
                await page.fill("#q", tag)
                await page.click("button:has-text('Search')")
                await page.click(f"text=<b>Acme</b> {tag}")  # escaped: the name reads as typed
                await page.fill("#invite_name", f"New Person {tag}")
                await page.fill("#invite_email", person)
                await page.click("text=Mail the invitation")
                await page.wait_for_selector(f"text=Invitation mailed to {person}")
                await page.screenshot(path=str(shots / "admin-customer-1280.png"), full_page=True)
                assert outside == [] and errors == []
                for area in ("customers", "sites", "operators", "outbox"):
                    tablet = await (await browser.new_context(viewport={"width": 768, "height": 1024})).new_page()
                    await browser_sign_in(tablet, base, admin_email, PASSWORD)
                    shown = await tablet.goto(f"{base}/console/admin/{area}")
                    assert shown is not None and shown.status == 200, area  # the outbox page once answered "dead"
                    assert await tablet.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), area
                    await tablet.screenshot(path=str(shots / f"admin-{area}-768.png"), full_page=True)
                    await tablet.context.close()

                # the invited person: the mailed link sets a password; they sign in and request a visit
                link = await _mail_link(smtp, person)
                guest = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
                await guest.goto(base + link)
                await guest.fill("#password", "a long new password")
                await guest.fill("#again", "a long new password")
                await guest.click("button[type=submit]")
                await browser_sign_in(guest, base, person, "a long new password", lands="/console/a/**")
                await guest.click("nav >> text=New request")
                day = (site_today("America/New_York") + timedelta(days=1)).isoformat()
                await guest.fill("#v-0-first", "Vera")
                await guest.fill("#v-0-last", "Visitor")
                await guest.fill("#v-0-email", "vera@guest.example")
                await guest.check(f"#site-{site}")
                await guest.check(f"input[name='loc-{site}'][value='Cage 7']")
                await guest.fill("#badge-start", day)
                await guest.fill("#badge-end", day)
                await guest.fill("#company", "Guest Co")
                await guest.fill("#host-first", "Hal")
                await guest.fill("#host-last", "Host")
                await guest.fill("#host-company", "Acme")
                await guest.fill("#escort-first", "Sam")
                await guest.fill("#escort-last", "Smith")
                await guest.click("button.primary")
                await guest.wait_for_selector("text=Created 1 work order")
                await guest.screenshot(path=str(shots / "admin-invited-person-request.png"), full_page=True)
            finally:
                await browser.close()
    async with db.read() as s:
        kinds = {(e.type, e.object_id) for e in (await s.execute(select(Event).where(
            Event.object_id.in_([master, account, site])))).scalars()}
    assert {("account.changed", master), ("account.changed", account), ("site.changed", site)} <= kinds


async def test_administration_is_for_admins_with_csrf_and_roles_reach_tokens(app, client, factory, db):
    site = await factory.site()
    tag = rand(6).lower()
    await _guard(factory, db, site, f"desk.{tag}@operator.example")
    await _guard(factory, db, site, f"boss.{tag}@operator.example", roles=("admin",))
    op = await factory.operator([site])  # an API client whose roles the admin changes
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, f"desk.{tag}@operator.example", PASSWORD)).status_code == 303
        assert (await c.get("/console/admin/customers")).status_code == 403
        assert (await c.post("/console/admin/customers", data={"master_id": "X", "name": "X"})).status_code == 403
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, f"boss.{tag}@operator.example", PASSWORD)).status_code == 303
        page = await c.get("/console/admin/operators", params={"q": op.name})
        assert page.status_code == 200 and op.name in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        user_id = re.search(r'name="user_id" value="(\d+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await c.post("/console/admin/operators/set", data={"user_id": user_id, "roles": ["desk"]})
        assert r.status_code == 403  # no CSRF token
        r = await client.get("/ops/v1/watchlist", headers=op.token_headers)
        assert r.status_code == 403
        r = await c.post("/console/admin/operators/set", data={"csrf": csrf, "user_id": user_id,
                                                               "roles": ["desk", "watchlist"], "sites": [site]})
        assert r.status_code == 303
        await asyncio.sleep(1.1)  # the security epoch: every process drops its cached tokens within a second
        assert (await client.get("/ops/v1/watchlist", headers=op.token_headers)).status_code == 200
        r = await c.post("/console/admin/customers/NOPE/create-account", data={"csrf": csrf, "account_id": "x"})
        assert r.status_code == 404
        r = await c.post("/console/admin/sites", data={"csrf": csrf, "code": "bad", "timezone": "Mars/Base"})
        assert r.status_code == 400 and "site code must be exactly 6" in r.text


async def test_a_second_factor_required_by_policy_comes_before_any_page(app, factory, db):
    tenant = await factory.tenant()
    user = next(iter(tenant.users.values()))
    email = f"p.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, user.name, email)
        await accounts.set_require_totp(s, tenant.master_account_id, True)
    from gatehouse.console.auth import set_password

    await set_password(db, user.name, PASSWORD)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        r = await c.get(f"/console/a/{tenant.account_id}/requests")
        assert r.status_code == 303 and r.headers["location"] == "/console/totp"
        page = await c.get("/console/totp")
        assert page.status_code == 200 and "requires a second factor" in page.text
    async with db.write() as s:
        await accounts.set_require_totp(s, tenant.master_account_id, False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        assert (await c.get(f"/console/a/{tenant.account_id}/requests")).status_code == 200
