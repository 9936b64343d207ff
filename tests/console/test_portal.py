"""The customer portal (issue 13, SPEC §12) in headless Chromium, offline. A requester creates a
two-visitor, two-site request with one mistake and corrects it; uploads a CSV of 200 rows with 7 bad
ones and submits it twice; the approver approves and denies from the queue and the mails go out
(a real SMTP server); an app's secret gets a token; a webhook is added and its delivery shows up
(a real HTTP receiver, signature checked with standardwebhooks). Then another customer's ids in
every URL, `<script>` payloads in the fields, and posts without the CSRF token."""

from __future__ import annotations

from sqlalchemy import select

from gatehouse.facility_access.models import WorkOrder

import asyncio
import csv
import io
import re
import time
from datetime import timedelta

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from gatehouse.kit.sitetime import site_today
from gatehouse.webhooks.channel import install as install_webhooks
from tests.console.signin import sign_in
from tests.console.test_desk import PASSWORD, _browser, _offline, pytestmark, shots  # noqa: F401
from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server
from tests.notifications.test_mail import FAST, mailer, smtp  # noqa: F401

API = "/v1/facility-access"
REQUESTER_PERMS = ["visitor-access:request", "tickets:read", "attachments:write"]
APPROVER_PERMS = REQUESTER_PERMS + ["visitor-access:approve", "webhooks:manage", "audit:read"]


async def _person(factory, db, tenant, perms: list[str], email: str):  # type: ignore[no-untyped-def]
    caller = await factory.user(tenant, perms=perms)
    async with db.write() as s:
        await accounts.set_email(s, caller.name, email)
    await set_password(db, caller.name, PASSWORD)
    return caller


async def _sign_in(browser, base: str, email: str, shots_dir=None, shot: str = ""):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    outside = await _offline(page, base)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), asyncio.ensure_future(d.dismiss())))
    await page.goto(f"{base}/console/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r".*/console/a/[^/]+/requests$"))
    return page, outside, dialogs


def _csv(tenant, template: str, first: str, last: str) -> tuple[bytes, set[int]]:  # type: ignore[no-untyped-def]
    """200 rows over the tenant's two sites; 7 of them wrong in 7 different ways."""
    header = next(csv.reader(io.StringIO(template)))
    (site_a, locs_a), (site_b, locs_b) = list(tenant.sites.items())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    spoil = {5: {"visitorEmail": "not-an-email"}, 50: {"site": "NOPE99"}, 77: {"badgeStartDate": "2020-01-01"},
             100: {"escortFirstName": ""}, 150: {"locations": "Cage Z"}, 180: {"escorted": "maybe"},
             199: {"visitorLastName": "<script>alert(9)</script>"}}
    for i in range(200):
        row = dict.fromkeys(header, "")
        row.update(visitorFirstName=f"Bulk{i}", visitorLastName="Visitor", visitorEmail=f"bulk{i}@guest.example",
                   company="Cables & Co", site=site_a if i % 2 else site_b,
                   locations=";".join(locs_a if i % 2 else locs_b[:1]), badgeStartDate=first, badgeEndDate=last,
                   escorted="yes", escortFirstName="Sam", escortLastName="Smith", hostFirstName="Hal",
                   hostLastName="Host", hostCompany="Tenant Inc")
        if i == 3 and "hostEmail" in row:
            row["hostEmail"] = "hal.host@tenant.example"
        row.update(spoil.get(i, {}))
        writer.writerow([row[h] for h in header])
    return out.getvalue().encode(), {i + 2 for i in spoil}  # file lines: the header is line 1


async def _count(client, caller) -> int:  # type: ignore[no-untyped-def]
    r = await client.get(f"{API}/visitors", params={"size": 1}, headers=caller.headers)
    return r.json()["pageable"]["totalElements"]


async def test_requester_and_approver_work_in_the_portal(settings, factory, db, client, shots, smtp, mailer,  # noqa: F811
                                                         receivers, tmp_path):
    from playwright.async_api import async_playwright

    install_webhooks(settings, db, schedule=FAST)  # the worker of `mailer` delivers webhooks too
    tenant = await factory.tenant(perms=REQUESTER_PERMS, site_count=2)
    (site_a, locs_a), (site_b, locs_b) = list(tenant.sites.items())
    tag = tenant.account_id.lower()
    requester = await _person(factory, db, tenant, REQUESTER_PERMS, f"req.{tag}@customer.example")
    approver = await _person(factory, db, tenant, APPROVER_PERMS, f"appr.{tag}@customer.example")
    today = site_today("America/New_York")
    first, last = (today + timedelta(days=1)).isoformat(), (today + timedelta(days=2)).isoformat()
    base_path = f"/console/a/{tenant.account_id}"
    receiver = receivers()

    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                # --- the requester: a two-visitor, two-site request with one mistake, corrected
                page, outside, dialogs = await _sign_in(browser, base, f"req.{tag}@customer.example")
                await page.click("nav >> text=New request")
                await page.fill("#v-0-first", "Ada")
                await page.fill("#v-0-last", "Lovelace")
                await page.fill("#v-0-email", "ada@guest.example")
                await page.click("button[value=add-visitor]")  # the server adds a row; nothing is lost
                assert await page.input_value("#v-0-first") == "Ada"
                await page.fill("#v-1-first", "<b>Eve</b>")
                await page.fill("#v-1-last", "<script>x</script>")
                await page.fill("#v-1-email", "eve-at-guest.example")  # the mistake
                for code, locs in ((site_a, locs_a), (site_b, locs_b)):
                    await page.check(f"#site-{code}")
                    await page.check(f"input[name='loc-{code}'][value='{locs[0]}']")
                await page.fill("#badge-start", first)
                await page.fill("#badge-end", last)
                await page.fill("#company", "<img src=x onerror=alert(1)>")
                await page.fill("#host-first", "Hal")
                await page.fill("#host-last", "Host")
                await page.fill("#host-company", "Tenant Inc")
                await page.fill("#host-email", "hal.host@tenant.example")
                await page.fill("#escort-first", "Sam")
                await page.fill("#escort-last", "Smith")
                await page.fill("#notes", "Bring the <script>alert(2)</script> laptop")
                await page.click("button.primary")
                await page.wait_for_selector("#problems")
                assert "is not a valid email address" in await page.inner_text("#err-v-1-email")
                assert await page.get_attribute("#v-1-email", "aria-invalid") == "true"
                assert await page.input_value("#v-1-last") == "<script>x</script>"  # kept, as text
                assert await page.is_checked(f"#site-{site_b}")
                await page.screenshot(path=str(shots / "portal-01-create-error.png"), full_page=True)
                assert await _count(client, requester) == 0  # nothing created
                await page.fill("#v-1-email", "eve@guest.example")
                sent = await page.evaluate(
                    "new URLSearchParams(new FormData(document.getElementById('create-form'))).toString()")
                await page.click("button.primary")
                await page.wait_for_selector("text=Created 4 work orders")
                await page.screenshot(path=str(shots / "portal-02-created.png"), full_page=True)
                assert await _count(client, requester) == 4
                made = re.findall(r"WO\d{7}", await page.inner_text("[role=status]"))
                assert len(made) == 4
                # the same form sent again (a double click, a retry after a dropped connection) replays
                cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
                async with httpx.AsyncClient(base_url=base, cookies=cookies) as c:
                    again = await c.post(f"{base_path}/requests/new", content=sent,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert again.status_code == 303 and made[0] in again.headers["location"]
                assert await _count(client, requester) == 4
                # the same form's key with other content: a refusal the page explains (it was a 500)
                changed = sent.replace("notes=", "notes=changed+", 1)
                assert changed != sent
                async with httpx.AsyncClient(base_url=base, cookies=cookies) as c:
                    other = await c.post(f"{base_path}/requests/new", content=changed,
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert other.status_code == 422 and "create-form" in other.text, (other.status_code, other.text[-1500:])
                assert await _count(client, requester) == 4

                # the ticket: comment, upload, download, edit
                await page.goto(f"{base}{base_path}/requests/{made[0]}")
                await page.fill("#comment", "<script>alert(3)</script> see you at 9")
                await page.click("form[action$='/comment'] button")
                await page.wait_for_selector("text=Comment added.")
                assert "<script>alert(3)</script> see you at 9" in await page.inner_text(".comments")
                pdf = tmp_path / "permit.pdf"
                pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n")
                await page.set_input_files("#file", str(pdf))
                await page.click("form[enctype] button")
                await page.wait_for_selector("text=Uploaded permit.pdf.")
                link = page.locator("a", has_text="permit.pdf")
                got = await page.request.get(base + await link.get_attribute("href"))
                assert got.status == 200 and (await got.body()).startswith(b"%PDF")
                await page.fill("#phone", "+1 555 0199")
                await page.click("form[action$='/edit'] button")
                await page.wait_for_selector("text=Saved.")
                assert "+1 555 0199" in await page.inner_text("dl")
                await page.screenshot(path=str(shots / "portal-03-ticket.png"), full_page=True)

                # --- bulk: 200 rows, 7 bad; the preview lists them; created once however often submitted
                await page.click("nav >> text=Bulk (CSV)")
                template = await page.request.get(f"{base}{base_path}/bulk/template.csv")
                data, bad_lines = _csv(tenant, (await template.text()), first, last)
                sheet = tmp_path / "visitors.csv"
                sheet.write_bytes(data)
                await page.set_input_files("#file", str(sheet))
                await page.click("form[action$='/bulk'] button")
                await page.wait_for_selector("table.problems")
                shown = {int(t) for t in await page.locator("table.problems tbody tr td:first-child").all_inner_texts()}
                assert shown == bad_lines
                assert "<script>alert(9)</script>" in await page.inner_text("table.problems")
                await page.screenshot(path=str(shots / "portal-04-bulk-preview.png"), full_page=True)
                import_url = page.url
                csrf = await page.get_attribute("form[data-bulk] input[name=csrf]", "value")
                cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
                # a double submit: the same form posted again while the page's own run is under way
                async with httpx.AsyncClient(cookies=cookies, timeout=120) as c:
                    second = asyncio.create_task(c.post(import_url + "/run", data={"csrf": csrf}))
                    await page.click("form[data-bulk] button")  # console.js: steps, with progress
                    await page.wait_for_selector("#bulk-done", timeout=120_000)
                    assert (await second).status_code in (200, 303)
                    r = await c.post(import_url + "/run", data={"csrf": csrf})  # and once more, afterwards
                    assert r.status_code in (200, 303)
                assert "193 work orders created" in await page.inner_text("#bulk-done")
                await page.screenshot(path=str(shots / "portal-05-bulk-done.png"), full_page=True)
                assert await _count(client, requester) == 4 + 193
                async with db.read() as session:  # the host told on arrival, from the form and the CSV
                    hosts = dict((await session.execute(select(WorkOrder.visitor_first_name, WorkOrder.host_email)
                                                        .where(WorkOrder.id.in_(made + [])))).all())
                    bulk3 = (await session.execute(select(WorkOrder.host_email).where(
                        WorkOrder.visitor_first_name == "Bulk3", WorkOrder.account_id == tenant.account_id))).scalar()
                assert hosts["Ada"] == "hal.host@tenant.example" and bulk3 == "hal.host@tenant.example"
                result = await page.request.get(import_url + "/result.csv")
                rows = list(csv.DictReader(io.StringIO(await result.text())))
                assert len(rows) == 200
                assert sum(1 for r in rows if re.fullmatch(r"WO\d{7}", r["workOrderId"])) == 193
                assert {int(r["line"]) for r in rows if not r["workOrderId"]} == bad_lines
                assert len({r["workOrderId"] for r in rows if r["workOrderId"]}) == 193
                assert dialogs == [] and outside == []

                # --- the approver: webhooks first, then the queue
                ann, ann_outside, ann_dialogs = await _sign_in(browser, base, f"appr.{tag}@customer.example")
                await ann.click("nav >> text=Webhooks")
                await ann.fill("#url", receiver.url)
                await ann.check("input[name=eventTypes][value='access_ticket.approved']")
                await ann.check("input[name=eventTypes][value='access_ticket.denied']")
                await ann.fill("#description", "<script>alert(4)</script>")
                await ann.click("form[action$='/webhooks'] button")
                secret = await ann.inner_text("#shown-secret")
                assert secret.startswith("whsec_")

                await ann.click("nav >> text=Approvals")
                assert await ann.inner_text("h1 .count") == str(4 + 193)
                await ann.screenshot(path=str(shots / "portal-06-queue.png"), full_page=True)
                yes, no = (await ann.locator("table.queue tbody tr td:first-child a").all_inner_texts())[:2]
                await ann.click(f"button[aria-label='Approve {yes}']")
                await ann.wait_for_selector(f"text={yes}: Approved")
                await ann.fill(f"#reason-{no}", "No <b>visits</b> that week")
                await ann.click(f"button[aria-label='Deny {no}']")
                await ann.wait_for_selector(f"text={no}: Denied.")
                assert await ann.inner_text("h1 .count") == str(4 + 193 - 2)

                # the webhook's deliveries show up in its log
                await ann.click("nav >> text=Webhooks")
                await ann.click("table a")
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    text = await ann.inner_text("main")
                    if text.count("delivered") >= 2:
                        break
                    await asyncio.sleep(0.5)
                    await ann.reload()
                assert "access_ticket.approved" in text and "access_ticket.denied" in text
                assert text.count("delivered") >= 2
                await ann.screenshot(path=str(shots / "portal-07-webhook-log.png"), full_page=True)
                await ann.click("button[aria-label='Redeliver access_ticket.approved']")
                await ann.wait_for_selector("text=Sent again")

                # the apps page: a new app's secret gets a token
                await ann.click("nav >> text=Apps")
                await ann.fill("#app-name", "<script>alert(5)</script> sync")
                await ann.click("form[action='/console/apps'] button")
                client_id = await ann.inner_text("#shown-client-id")
                client_secret = await ann.inner_text("#shown-secret")
                await ann.screenshot(path=str(shots / "portal-08-app-created.png"), full_page=True)
                token = await client.post("/v2/auth/token", data={"grant_type": "client_credentials",
                                                                  "client_id": client_id,
                                                                  "client_secret": client_secret})
                assert token.status_code == 200, token.text
                rows = await ann.locator("main table tbody tr").count()
                await ann.reload()  # re-posts the form: no second app, and the secret is not shown again
                assert await ann.locator("#shown-secret").count() == 0
                assert "already sent" in await ann.inner_text("[role=alert]")
                assert await ann.locator("main table tbody tr").count() == rows
                # made strict here, the app's unknown query parameters are refused (within a second)
                await ann.click("button[aria-label='Make <script>alert(5)</script> sync strict']")
                await ann.wait_for_url(f"{base}/console/apps")
                assert "strict" in await ann.inner_text("main table")
                await ann.screenshot(path=str(shots / "portal-08b-app-strict.png"), full_page=True)
                sites_call = dict(params={"stauts": "x"}, headers={
                    "Authorization": f"Bearer {token.json()['access_token']}",
                    "Master-Account-Id": tenant.master_account_id, "Account-Id": tenant.account_id})
                await asyncio.sleep(1.1)
                refused = await client.get("/v1/sites", **sites_call)
                assert refused.status_code == 400 and refused.json()["error"]["details"][0]["code"] == \
                    "UNKNOWN_PARAMETER", refused.text
                await ann.click("button[aria-label='Make <script>alert(5)</script> sync tolerant']")
                await ann.wait_for_url(f"{base}/console/apps")
                await asyncio.sleep(1.1)
                again = await client.get("/v1/sites", **sites_call)
                assert again.status_code == 200 and again.headers["gatehouse-ignored"] == "stauts"
                await ann.click("button[aria-label='Disable <script>alert(5)</script> sync']")
                await ann.wait_for_url(f"{base}/console/apps")
                refused = await client.post("/v2/auth/token", data={"grant_type": "client_credentials",
                                                                    "client_id": client_id,
                                                                    "client_secret": client_secret})
                assert refused.status_code == 401

                # the audit trail names the people
                await ann.click("nav >> text=Audit trail")
                await ann.fill("#a-object", yes)
                await ann.click("form.filters-row button")
                trail = await ann.inner_text("table")
                assert "access_ticket.approved" in trail and approver.name in trail
                await ann.screenshot(path=str(shots / "portal-09-audit.png"), full_page=True)
                await ann.set_viewport_size({"width": 800, "height": 1100})  # a tablet at the desk
                await ann.goto(f"{base}{base_path}/requests/new")
                await ann.screenshot(path=str(shots / "portal-10-tablet-new.png"), full_page=True)
                assert ann_dialogs == [] and ann_outside == []
            finally:
                await browser.close()

    # the mails went out: the visitor's pass for the approved one, a denial for the other
    deadline = time.monotonic() + 20
    smtp.watch.update((yes, no))
    while time.monotonic() < deadline and not ({"visitor_pass", "denied"} <= {m["X-Gatehouse-Mail"]
                                                                              for m in smtp.messages}):
        await asyncio.sleep(0.2)
    kinds = {(m["X-Gatehouse-Work-Order"], m["X-Gatehouse-Mail"]) for m in smtp.messages}
    assert (yes, "visitor_pass") in kinds and (no, "denied") in kinds, kinds
    # and the webhook deliveries verify with the secret shown once
    verifier = Webhook(secret)
    bodies = [verifier.verify(raw, {k: v for k, v in headers.items()}) for headers, raw, _ in receiver.got]
    assert {b["type"] for b in bodies} >= {"access_ticket.approved", "access_ticket.denied"}


async def test_other_accounts_ids_csrf_and_permissions(settings, factory, db, client, tmp_path):
    """Every URL with another customer's id is a 404; every form post without the token is a 403;
    a person without a permission gets no page for it."""
    mine = await factory.tenant(perms=REQUESTER_PERMS)
    tag = mine.account_id.lower()
    await _person(factory, db, mine, REQUESTER_PERMS, f"me.{tag}@customer.example")
    theirs = await factory.tenant(perms=APPROVER_PERMS)
    them = next(iter(theirs.users.values()))
    body = request_for(theirs)
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=them.headers)
          ).json()["workOrder"][0]["workOrderId"]
    up = await client.post("/v1/attachments", params={"requestId": wo, "file_name": "x.pdf"},
                           files={"file": ("x.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}, headers=them.headers)
    file_id = up.json()["id"]
    hook = (await client.post("/v1/webhooks", json={"url": "https://hooks.example/x", "eventTypes": ["*"]},
                              headers=them.headers)).json()["webhookId"]
    async with db.read() as s:
        from gatehouse.auth.repository import app_by_client_id

        their_app = await app_by_client_id(s, them.client_id)
    assert their_app is not None
    with real_server(settings) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = await sign_in(c, f"me.{tag}@customer.example", PASSWORD)
            assert r.status_code == 303
            page = (await c.get(f"/console/a/{mine.account_id}/requests")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            a, b = f"/console/a/{mine.account_id}", f"/console/a/{theirs.account_id}"
            for url in (f"{b}/requests", f"{b}/requests/{wo}", f"{a}/requests/{wo}", f"{a}/requests/{wo}/files/{file_id}",
                        f"{b}/requests/{wo}/files/{file_id}", f"{a}/bulk/{'0' * 32}", f"{a}/bulk/{'0' * 32}/result.csv",
                        f"/console/requests/{wo}"):
                assert (await c.get(url)).status_code == 404, url
            for url in (f"{a}/requests/{wo}/comment", f"{a}/requests/{wo}/cancel", f"{a}/requests/{wo}/edit",
                        f"{b}/requests/{wo}/comment", f"/console/apps/{them.client_id}/rotate",
                        f"/console/apps/{them.client_id}/disable"):
                r = await c.post(url, data={"csrf": csrf, "comment": "x", "reason": "Duplicate request"})
                assert r.status_code == 404, (url, r.status_code)
            r = await c.post(f"{a}/requests/{wo}/files?csrf={csrf}", files={"file": ("y.pdf", b"%PDF-1.4\n", "application/pdf")})
            assert r.status_code == 404
            # the webhook pages need webhooks:manage, which this person lacks in their own account
            assert (await c.get(f"{a}/webhooks")).status_code == 403
            assert (await c.get(f"{a}/webhooks/{hook}")).status_code == 403
            assert (await c.get(f"{a}/approvals")).status_code == 403
            assert (await c.get(f"{a}/audit")).status_code == 403
            # posts without the session's token change nothing
            mine_wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(mine)],
                                         headers=next(iter(mine.users.values())).headers)).json()["workOrder"][0]["workOrderId"]
            for url, data in ((f"{a}/requests/{mine_wo}/cancel", {"reason": "Duplicate request"}),
                              (f"{a}/requests/{mine_wo}/comment", {"comment": "forged"}),
                              (f"{a}/requests/new", {"visitors": "1"}), ("/console/apps", {"name": "forged"}),
                              (f"{a}/bulk/{'0' * 32}/run", {}), (f"{a}/webhooks", {"url": "https://x.example"})):
                for token in (None, "forged"):
                    sent = dict(data, **({"csrf": token} if token else {}))
                    r = await c.post(url, data=sent)
                    assert r.status_code == 403, (url, token, r.status_code)
            r = await c.post(f"{a}/requests/{mine_wo}/files", files={"file": ("z.pdf", b"%PDF-1.4\n", "application/pdf")})
            assert r.status_code == 403
            ticket = (await client.get(f"{API}/access-tickets/{mine_wo}", headers=next(iter(mine.users.values())).headers)).json()
            assert ticket["ticketStatus"] == "Pending Approval"
            assert ticket["comments"] == []
            async with db.read() as s:
                apps = await __import__("gatehouse.auth.repository", fromlist=["x"]).apps_of_user(s, their_app.user_id)
            assert all(x.enabled for x in apps)


@pytest.mark.parametrize("text", ["", "visitorFirstName\nA\n", "\x00\x01", "a,b\n1,2\n"])
async def test_a_csv_that_is_not_the_format_is_refused_clearly(settings, factory, db, text):
    tenant = await factory.tenant(perms=REQUESTER_PERMS)
    tag = tenant.account_id.lower()
    await _person(factory, db, tenant, REQUESTER_PERMS, f"csv.{tag}@customer.example")
    with real_server(settings) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, follow_redirects=True) as c:
            await sign_in(c, f"csv.{tag}@customer.example", PASSWORD)
            page = (await c.get(f"/console/a/{tenant.account_id}/bulk")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            r = await c.post(f"/console/a/{tenant.account_id}/bulk", data={"csrf": csrf},
                             files={"file": ("x.csv", text.encode(), "text/csv")})
            assert r.status_code == 200 and 'role="alert"' in r.text, r.text[:500]
