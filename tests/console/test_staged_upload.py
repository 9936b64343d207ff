"""Issue 20 (14, 21): on New request, uploading a file keeps what was typed (the page's script sends
it in the background and ticks it); the CSRF token travels in the form body, never in a URL, and a
forged upload without it stores nothing."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from gatehouse.attachments.models import Blob, StagedAttachment
from tests.console.signin import sign_in
from tests.console.test_desk import PASSWORD, _browser, pytestmark, shots  # noqa: F401
from tests.console.test_portal import REQUESTER_PERMS, _person, _sign_in
from tests.harness.test_attack_defects import real_server

PDF = b"%PDF-1.4\n% staged\n" + b"x" * 2000 + b"\n%%EOF\n"


async def test_an_upload_keeps_the_typed_form_and_is_ticked(settings, factory, db, shots, tmp_path):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant(perms=REQUESTER_PERMS)
    email = f"stage.{tenant.account_id.lower()}@customer.example"
    await _person(factory, db, tenant, REQUESTER_PERMS, email)
    pdf = tmp_path / "floor plan <b>.pdf"
    pdf.write_bytes(PDF)
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page, outside, dialogs = await _sign_in(browser, base, email)
                await page.goto(f"{base}/console/a/{tenant.account_id}/requests/new")
                await page.fill("#v-0-first", "Ada")
                await page.fill("#notes", "Typed before the upload")
                await page.set_input_files("#uploadFile", str(pdf))
                await page.click("form[data-staged-upload] button[type=submit]")
                await page.wait_for_selector("#upload-ok:not([hidden])")
                assert await page.input_value("#v-0-first") == "Ada"
                assert await page.input_value("#notes") == "Typed before the upload"
                box = page.locator("#staged-list input[name=attach]")
                assert await box.count() == 1 and await box.is_checked()
                assert "floor plan <b>.pdf" in await page.inner_text("#staged-list")  # as text
                assert "csrf" not in page.url
                await page.screenshot(path=str(shots / "portal-new-staged-upload.png"), full_page=True)
                # a refused file says why, and still nothing typed is lost
                bad = tmp_path / "notes.exe"
                bad.write_bytes(b"MZ")
                await page.set_input_files("#uploadFile", str(bad))
                await page.click("form[data-staged-upload] button[type=submit]")
                await page.wait_for_selector("#upload-error:not([hidden])")
                assert await page.input_value("#v-0-first") == "Ada" and "csrf" not in page.url
                assert outside == [] and dialogs == []
            finally:
                await browser.close()


async def test_an_upload_without_the_token_stores_nothing(settings, factory, db):
    tenant = await factory.tenant(perms=REQUESTER_PERMS)
    email = f"forge.{tenant.account_id.lower()}@customer.example"
    who = await _person(factory, db, tenant, REQUESTER_PERMS, email)

    async def count() -> tuple[int, int]:
        async with db.read() as s:
            return ((await s.execute(select(func.count()).select_from(StagedAttachment))).scalar_one(),
                    (await s.execute(select(func.count()).select_from(Blob).where(Blob.state == "committed"))
                     ).scalar_one())

    with real_server(settings) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            assert (await sign_in(c, email, PASSWORD)).status_code == 303
            page = (await c.get(f"/console/a/{tenant.account_id}/requests/new")).text
            token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            before = await count()
            url = f"/console/a/{tenant.account_id}/staged"
            for data in ({}, {"csrf": "wrong"}):
                r = await c.post(url, data=data, files={"uploadFile": ("a.pdf", PDF, "application/pdf")})
                assert r.status_code == 403, r.text
            assert await count() == before
            r = await c.post(url, data={"csrf": token}, files={"uploadFile": ("a.pdf", PDF, "application/pdf")},
                             headers={"X-Requested-With": "fetch"})
            assert r.status_code == 200 and r.json()["name"] == "a.pdf", r.text
    _ = who
