"""The evacuation roll call (SPEC §14, §17; issue 23 in part): everyone checked in at a site, in the
JSON API and on a console page where two guards marking at once see each other's marks within 2 s."""

from __future__ import annotations

import time

from tests.console.signin import browser_sign_in
from tests.console.test_desk import PASSWORD, _browser, _guard, _offline, pytestmark, shots  # noqa: F401
from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"


async def _on_site(client, tenant, op, names):  # type: ignore[no-untyped-def]
    caller = next(iter(tenant.users.values()))
    made = []
    for name in names:
        body = request_for(tenant, start=0, end=1)
        body["visitors"][0].update(visitorFirstName=name, visitorLastName="Visitor")
        r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
        wo = r.json()["workOrder"][0]["workOrderId"]
        assert (await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": f"B-{name}"},
                                 headers=op.token_headers)).status_code == 200
        made.append(wo)
    return made


async def test_the_on_site_list_and_its_marks(client, factory):
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    stranger = await factory.operator([next(iter((await factory.tenant()).sites))])
    ada, bob = await _on_site(client, tenant, op, ["Ada", "Bob"])
    assert (await client.put(f"{OPS}/{bob}/check-out", headers=op.token_headers)).status_code == 200
    people = (await client.get(f"/ops/v1/sites/{site}/on-site", headers=op.token_headers)).json()
    assert [(p["ticketId"], p["kind"], p["accountedFor"]) for p in people] == [(ada, "visitor", False)]
    assert people[0]["escort"] == "Jane Doe" and people[0]["locations"] == ["Cage A"] and people[0]["checkInTime"]
    r = await client.put(f"/ops/v1/sites/{site}/on-site/{ada}", json={"accountedFor": True}, headers=op.token_headers)
    assert r.status_code == 200 and r.json()["accountedFor"] is True and r.json()["markedBy"] == op.name
    r = await client.put(f"/ops/v1/sites/{site}/on-site/{bob}", json={"accountedFor": True}, headers=op.token_headers)
    assert r.status_code == 404  # not on site
    assert (await client.get(f"/ops/v1/sites/{site}/on-site", headers=stranger.token_headers)).status_code == 404
    # a new stay starts unmarked
    assert (await client.put(f"{OPS}/{ada}/check-out", headers=op.token_headers)).status_code == 200
    assert (await client.put(f"{OPS}/{ada}/check-in", json={"badgeNumber": "B-2"}, headers=op.token_headers)
            ).status_code == 200
    people = (await client.get(f"/ops/v1/sites/{site}/on-site", headers=op.token_headers)).json()
    assert [p["accountedFor"] for p in people] == [False]


async def test_two_guards_share_the_roll_call(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    one = await _guard(factory, db, site, f"one.{site.lower()}@operator.example")
    await _guard(factory, db, site, f"two.{site.lower()}@operator.example")
    ada, _eve = await _on_site(client, tenant, one, ["Ada", "<b>Eve</b>"])
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                pages = []
                for who in ("one", "two"):
                    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
                    outside = await _offline(page, base)
                    await browser_sign_in(page, base, f"{who}.{site.lower()}@operator.example", PASSWORD)
                    await page.click(f"text=Roll call: who is on site at {site} now")
                    pages.append((page, outside))
                (first, out1), (second, out2) = pages
                assert "<b>Eve</b> Visitor" in await first.inner_text("table")  # escaped
                assert await first.inner_text("#rc-count") == "0 / 2"
                await first.click("button[aria-label='Accounted for: Ada Visitor']")
                started = time.monotonic()
                await second.wait_for_selector(f"#rc-{ada}.accounted", timeout=2500)
                assert time.monotonic() - started < 2.5
                assert await second.inner_text("#rc-count") == "1 / 2"
                assert one.name in await second.inner_text(f"#rc-{ada}")
                await second.screenshot(path=str(shots / "roll-call-01-shared.png"), full_page=True)
                await first.emulate_media(media="print")
                await first.screenshot(path=str(shots / "roll-call-02-print.png"), full_page=True)
                assert out1 == [] and out2 == []
            finally:
                await browser.close()


async def test_a_walk_in_from_the_desk_shows_the_decision_without_a_reload(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant()
    site, locs = next(iter(tenant.sites.items()))
    approver = next(iter(tenant.users.values()))
    await _guard(factory, db, site, f"walk.{site.lower()}@operator.example")
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
                outside = await _offline(page, base)
                await browser_sign_in(page, base, f"walk.{site.lower()}@operator.example", PASSWORD)
                await page.click("text=Walk-in: a visitor without a request")
                await page.select_option("#w-account", tenant.account_id)  # the picker submits itself
                await page.wait_for_selector("#w-first")
                await page.fill("#w-first", "Wally")
                await page.fill("#w-last", "<b>Walker</b>")
                await page.fill("#w-email", "wally@guest.example")
                await page.fill("#w-company", "Walk Co")
                await page.fill("#w-host-first", "Hal")
                await page.fill("#w-host-last", "Host")
                await page.fill("#w-escort-first", "Sam")
                await page.fill("#w-escort-last", "Smith")
                await page.check(f"input[name=loc][value='{locs[0]}']")
                await page.screenshot(path=str(shots / "walk-in-01-form.png"), full_page=True)
                await page.click("text=Request on the customer's behalf")
                await page.wait_for_url(f"{base}/console/desk/tickets/WO*")
                assert "Pending Approval" in await page.inner_text("#ticket-panel h1")
                wo = page.url.rsplit("/", 1)[1]
                r = await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)
                assert r.status_code == 200, r.text
                await page.wait_for_selector("#ticket-panel h1 >> text=Approved", timeout=5000)  # no reload
                assert "<b>Walker</b>" in await page.inner_text("#ticket-panel h1")
                await page.screenshot(path=str(shots / "walk-in-02-approved.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()


async def test_the_desk_records_the_identity_check_and_the_escort(settings, factory, db, client, shots):  # noqa: F811
    from datetime import timedelta

    from playwright.async_api import async_playwright

    from gatehouse.kit.sitetime import site_today

    tenant = await factory.tenant(checks=True)
    site = next(iter(tenant.sites))
    caller = next(iter(tenant.users.values()))
    await _guard(factory, db, site, f"id.{site.lower()}@operator.example")
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=0)],
                          headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    expired = (site_today("America/New_York") - timedelta(days=2)).isoformat()
    valid = (site_today("America/New_York") + timedelta(days=700)).isoformat()
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
                outside = await _offline(page, base)
                await browser_sign_in(page, base, f"id.{site.lower()}@operator.example", PASSWORD)
                await page.goto(f"{base}/console/desk/tickets/{wo}")
                async def fill(expiry: str) -> None:  # the panel comes back fresh after each answer
                    await page.fill("#badge_number", "B-55")
                    await page.select_option("#doc_type", "driving-licence")
                    await page.fill("#doc_country", "Canada")
                    await page.fill("#doc_last4", "9Z81")
                    await page.fill("#doc_expiry", expiry)
                    await page.check("input[name=name_matches]")
                    await page.check("input[name=escort_present]")

                await fill(expired)
                await page.screenshot(path=str(shots / "desk-identity-01-form.png"), full_page=True)
                await page.click("#ticket-panel button:has-text('Check in')")
                await page.wait_for_selector("#ticket-panel [role=alert]")
                assert "expired" in await page.inner_text("#ticket-panel [role=alert]")
                await fill(valid)
                await page.click("#ticket-panel button:has-text('Check in')")
                await page.wait_for_selector("#ticket-panel >> text=Checked in with badge B-55")
                await page.screenshot(path=str(shots / "desk-identity-02-checked-in.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()
    desk = (await client.get(f"/ops/v1/access-tickets/{wo}",
                             headers=(await factory.operator([site])).token_headers)).json()
    assert desk["identityCheck"]["type"] == "driving-licence" and desk["identityCheck"]["numberLast4"] == "9Z81"
    assert desk["escortConfirmed"] is True


async def test_the_desk_keeps_what_visitors_are_told(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    from gatehouse.auth import client_secrets
    from gatehouse.visits.tokens import token_for

    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    caller = next(iter(tenant.users.values()))
    await _guard(factory, db, site, f"rules.{site.lower()}@operator.example")
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=1, end=1)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
                outside = await _offline(page, base)
                await browser_sign_in(page, base, f"rules.{site.lower()}@operator.example", PASSWORD)
                await page.click("text=What visitors are told")
                await page.fill("#arrival", "Gate B, then the blue door.")
                await page.fill("#rules", "# House rules\n\n- No **tailgating**\n- <script>alert(1)</script>")
                await page.click("form button:has-text('Save')")
                await page.wait_for_selector("text=Saved.")
                assert "tailgating" in await page.inner_text(".rules")
                await page.screenshot(path=str(shots / "site-rules.png"), full_page=True)
                async with db.read() as s:
                    token = token_for(await client_secrets.key(s), wo)
                await page.goto(f"{base}/visit/{token}")
                text = await page.inner_text("main")
                assert "Gate B, then the blue door." in text and "version 1" in text
                assert "<script>alert(1)</script>" in text  # shown as text, never run
                assert outside == []
            finally:
                await browser.close()


async def test_the_roll_call_as_a_pdf_to_take_outside(app, client, factory, db, shots):  # noqa: F811
    import httpx
    import pypdfium2

    from tests.console.signin import sign_in

    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    guard = await _guard(factory, db, site, f"pdf.{site.lower()}@operator.example")
    ada, _zoe = await _on_site(client, tenant, guard, ["Ada", "Zoë"])
    assert (await client.put(f"/ops/v1/sites/{site}/on-site/{ada}", json={"accountedFor": True},
                             headers=guard.token_headers)).status_code == 200
    console = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gatehouse.test")
    r = await sign_in(console, f"pdf.{site.lower()}@operator.example", PASSWORD)  # its own cookies
    assert r.status_code == 303
    r = await console.get("/console/desk/roll-call.pdf", params={"site": site})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(r.content)
    page = doc[0]
    text = page.get_textpage().get_text_range()
    assert f"Roll call · {site}" in text and "America/New_York" in text
    assert "2 on site · 1 accounted" in text and "Ada Visitor" in text and "Zoë Visitor" in text
    assert "Jane Doe" in text and "Cage A" in text
    page.render(scale=2).to_pil().save(shots / "roll-call.png")
    page.close()
    doc.close()
    other = next(iter((await factory.tenant()).sites))
    assert (await console.get("/console/desk/roll-call.pdf", params={"site": other})).status_code == 404
    # a roll call started (marks cleared) and closed: both in the operators' trail, the missing named
    import re

    from sqlalchemy import select

    from gatehouse.events.models import Event

    csrf = re.search(r'name="csrf" value="([^"]+)"', (await console.get("/console/desk/roll-call",
                                                                        params={"site": site})).text).group(1)
    assert (await console.post("/console/desk/roll-call/start", data={"csrf": csrf, "site": site})).status_code == 303
    marks = (await console.get("/console/desk/roll-call.json", params={"site": site})).json()
    assert [m["accountedFor"] for m in marks] == [False, False]
    assert (await console.post(f"/console/desk/roll-call/{ada}", data={"csrf": csrf, "site": site, "accounted": "1"})
            ).status_code == 303
    assert (await console.post("/console/desk/roll-call/close", data={"csrf": csrf, "site": site})).status_code == 303
    async with db.read() as s:
        trail = {e.type: e for e in (await s.execute(select(Event).where(Event.object_id == site))).scalars()}
    import json

    closed = json.loads(trail["roll_call.closed"].data)
    assert "roll_call.started" in trail and closed["accountedFor"] == 1 and closed["onSite"] == 2
    assert closed["missing"] == [f"Zoë Visitor ({_zoe})"] and trail["roll_call.closed"].account_id is None
    await console.aclose()
