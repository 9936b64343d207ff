"""The visitor's own page (SPEC §15; issue 24 in part): the visit in site time with its QR, the
calendar file in the site's zone; a wrong token, a cancelled visit and an ended one look alike."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from gatehouse.auth import client_secrets
from gatehouse.visits.tokens import token_for
from tests.facility_access.conftest import day, request_for

API = "/v1/facility-access"


async def _token(db, wo: str) -> str:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return token_for(await client_secrets.key(s), wo)


async def test_the_page_the_calendar_and_the_end_of_the_link(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant, start=1, end=1)
    body["sites"][0]["locations"][0].update(accessStartTime="08:30", accessEndTime="17:00")
    body["visitors"][0]["visitorFirstName"] = "<b>Ada</b>"
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    token = await _token(db, wo)
    page = await client.get(f"/visit/{token}")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page.text and "<b>Ada</b>" not in page.text  # escaped
    assert f"{day(1)} 08:30 to {day(1)} 17:00 E" in page.text and 'src="data:image/png;base64,' in page.text
    ics = await client.get(f"/visit/{token}.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    (event,) = list(Calendar.from_ical(ics.content).walk("VEVENT"))
    ny = ZoneInfo("America/New_York")
    assert event.decoded("dtstart") == datetime.fromisoformat(f"{day(1)}T08:30").replace(tzinfo=ny)
    assert event.decoded("dtend") == datetime.fromisoformat(f"{day(1)}T17:00").replace(tzinfo=ny)
    assert "VTIMEZONE" in ics.text and "Street 1" in str(event["location"])
    wrong = await client.get(f"/visit/{wo}.AAAAAAAAAAAAAAAAAAAAAAAA")
    other = await client.get(f"/visit/{await _token(db, 'WO0000001')}")
    assert (await client.put(f"{API}/access-tickets/{wo}/cancel", json={}, headers=caller.headers)).status_code == 200
    cancelled = await client.get(f"/visit/{token}")
    assert wrong.status_code == other.status_code == cancelled.status_code == 404
    assert wrong.text == other.text == cancelled.text and "no longer valid" in cancelled.text
    assert (await client.get(f"/visit/{token}.ics")).status_code == 404


async def test_the_page_on_a_phone_and_a_desk_screen(settings, factory, db, client, tmp_path):
    import os
    import shutil

    import pytest
    from playwright.async_api import async_playwright

    from tests.console.test_desk import _offline
    from tests.harness.test_attack_defects import real_server

    if not shutil.which("chromium") and not os.environ.get("CI"):
        pytest.skip("Debian chromium is installed by scripts/test.sh")
    shots = tmp_path if not os.environ.get("GATEHOUSE_SCREENSHOTS") else __import__("pathlib").Path(
        os.environ["GATEHOUSE_SCREENSHOTS"])
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=1, end=1)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    token = await _token(db, wo)
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            try:
                for width, height in ((375, 812), (1280, 800)):
                    page = await (await browser.new_context(viewport={"width": width, "height": height})).new_page()
                    outside = await _offline(page, base)
                    await page.goto(f"{base}/visit/{token}")
                    assert await page.inner_text("h1") == f"Your visit to {next(iter(tenant.sites))}"
                    # nothing wider than the screen: the page reads on a phone without scrolling sideways
                    assert await page.evaluate("document.documentElement.scrollWidth") <= width
                    assert await page.evaluate("document.querySelector('img.visit-qr').naturalWidth") > 0
                    await page.screenshot(path=str(shots / f"visit-{width}.png"), full_page=True)
                    assert outside == []
            finally:
                await browser.close()


async def test_the_rules_accepted_before_arrival(client, factory, db):
    from gatehouse.sites import service as sites

    tenant = await factory.tenant(perms=["visitor-access:request", "visitor-access:approve", "tickets:read",
                                         "audit:read"])
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    async with db.write() as s:
        await sites.set_site(s, site, arrival_instructions="Park at gate B; ring the <b>blue</b> bell.",
                             rules_markdown="# Site rules\n\n1. No **tailgating**.\n\n<script>alert(1)</script>\n\n"
                                            "[a link](javascript:alert(2))")
    body = request_for(tenant, start=1, end=1)
    body["visitors"][0].update(visitorFirstName="Zoë", visitorLastName="Day")
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    token = await _token(db, wo)
    page = (await client.get(f"/visit/{token}")).text
    assert "ring the &lt;b&gt;blue&lt;/b&gt; bell" in page  # arrival instructions, escaped
    assert "<strong>tailgating</strong>" in page and "<script>alert(1)" not in page
    assert 'href="javascript:' not in page
    r = await client.post(f"/visit/{token}", data={"name": "Someone Else", "version": "1"})
    assert r.status_code == 400 and "Type your full name" in r.text
    r = await client.post(f"/visit/{token}", data={"name": "  zoe   DAY ", "version": "1"})
    assert r.status_code == 200 and "Accepted by" in r.text
    desk = (await client.get(f"/ops/v1/access-tickets/{wo}", headers=op.token_headers)).json()
    assert desk["preCheckIn"]["rulesVersion"] == 1 and desk["preCheckIn"]["name"] == "zoe   DAY"
    trail = (await client.get("/v1/audit-events", params={"objectId": wo, "type": "visit.pre_checked_in"},
                              headers=caller.headers)).json()["content"]
    assert trail[0]["data"]["rulesVersion"] == 1 and "DAY" not in str(trail[0]["data"])
    async with db.write() as s:  # a new version of the rules: asked again
        await sites.set_site(s, site, rules_markdown="# Site rules\n\nNo food.")
    page = (await client.get(f"/visit/{token}")).text
    assert "version 2" in page and "Accepted by" not in page
    r = await client.post(f"/visit/{token}", data={"name": "Zoë Day", "version": "1"})
    assert r.status_code == 409  # the page was opened on an older version


async def test_a_site_that_requires_the_rules_asks_the_desk_when_the_visitor_did_not(client, factory, db):
    from gatehouse.sites import service as sites

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    async with db.write() as s:
        await sites.set_site(s, site, rules_markdown="Hard hats in the **hall**.", require_pre_check_in=True)
    made = []
    for _ in range(2):
        r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=0)],
                              headers=caller.headers)
        made.append(r.json()["workOrder"][0]["workOrderId"])
    at_desk, before = made
    desk = (await client.get(f"/ops/v1/access-tickets/{at_desk}", headers=op.token_headers)).json()
    assert desk["rulesToAccept"]["version"] == 1
    r = await client.put(f"/ops/v1/access-tickets/{at_desk}/check-in", json={"badgeNumber": "R1"},
                         headers=op.token_headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "rulesAcceptedName"
    r = await client.put(f"/ops/v1/access-tickets/{at_desk}/check-in",
                         json={"badgeNumber": "R1", "rulesAcceptedName": "v0 doe"}, headers=op.token_headers)
    assert r.status_code == 200, r.text
    desk = (await client.get(f"/ops/v1/access-tickets/{at_desk}", headers=op.token_headers)).json()
    assert desk["preCheckIn"]["rulesVersion"] == 1 and desk["rulesToAccept"] is None
    # accepted on the visitor's page beforehand: a badge is enough
    assert (await client.post(f"/visit/{await _token(db, before)}", data={"name": "V0 Doe", "version": "1"})
            ).status_code == 200
    assert (await client.put(f"/ops/v1/access-tickets/{before}/check-in", json={"badgeNumber": "R2"},
                             headers=op.token_headers)).status_code == 200


async def test_the_visitor_adds_a_phone_and_a_photo_for_the_desk(client, factory, db):
    from gatehouse.operators.models import VisitorPhoto

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    op = await factory.operator(list(tenant.sites))
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=1, end=1)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    token = await _token(db, wo)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = await client.post(f"/visit/{token}/details", data={"phone": "+1 555 0199"},
                          files={"photo": ("me.png", png, "image/png")})
    assert r.status_code == 200 and "the desk has it" in r.text
    t = (await client.get(f"/ops/v1/access-tickets/{wo}", headers=op.token_headers)).json()
    assert t["contactPhone"] == "+1 555 0199"
    async with db.read() as s:
        photo = await s.get(VisitorPhoto, wo)
    assert photo is not None and photo.taken_by == "visitor" and photo.content_type == "image/png"
    r = await client.post(f"/visit/{token}/details", data={"phone": ""}, files={"photo": ("x.png", b"MZ!", "image/png")})
    assert r.status_code == 415 and "JPEG or PNG" in r.text
    r = await client.post(f"/visit/{token}/details", data={"phone": "line\nbreak"})
    assert r.status_code == 400


async def test_the_page_is_rate_limited_per_token(client, factory, db):
    from gatehouse.visits import limits

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=1, end=1)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    token = await _token(db, wo)
    answers = [(await client.get(f"/visit/{token}")).status_code for _ in range(limits.PER_TOKEN + 1)]
    assert answers[:limits.PER_TOKEN] == [200] * limits.PER_TOKEN and answers[-1] == 429
    r = await client.get(f"/visit/{token}")
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
    limits.tokens.hits.clear()  # the other tests of this process share the limits
    limits.addresses.hits.clear()


def test_the_sliding_minute():
    from gatehouse.kit.ratelimit import SlidingLimit

    limit = SlidingLimit(2, window=60)
    assert limit.retry_after("k", now=0) is None and limit.retry_after("k", now=1) is None
    assert limit.retry_after("k", now=2) == 59
    assert limit.retry_after("k", now=61) is None  # the first hit left the window
