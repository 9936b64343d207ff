"""The printed badge (SPEC §14; issue 23 in part): a 102 × 76 mm label and an A4 sheet, rendered to
PNG and read back — the name, the ESCORT REQUIRED band for an escorted visitor, and a QR code the
desk's scanner decodes to the work order id."""

from __future__ import annotations

import httpx
import pypdfium2
import zxingcpp

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from tests.console.signin import browser_sign_in, sign_in
from tests.console.test_desk import shots  # noqa: F401 - the screenshots folder
from tests.facility_access.conftest import request_for

API = "/v1/facility-access"
PASSWORD = "correct horse battery"


async def test_a_checked_in_visitor_gets_a_badge_to_print(client, factory, db, app, shots):  # type: ignore[no-untyped-def]  # noqa: F811
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    email = f"print.{site.lower()}@operator.example"
    async with db.write() as s:
        await accounts.set_email(s, op.name, email)
    await set_password(db, op.name, PASSWORD)
    body = request_for(tenant, start=0, end=0)
    body["visitors"][0].update(visitorFirstName="Zoë", visitorLastName="Łukasiewicz")
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        r = await c.get(f"/console/desk/tickets/{wo}/badge.pdf")
        assert r.status_code == 409  # not checked in yet
        assert (await client.put(f"/ops/v1/access-tickets/{wo}/check-in", json={"badgeNumber": "V-12"},
                                 headers=op.token_headers)).status_code == 200
        label = await c.get(f"/console/desk/tickets/{wo}/badge.pdf")
        sheet = await c.get(f"/console/desk/tickets/{wo}/badge.pdf", params={"sheet": "a4"})
    assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(label.content)
    page = doc[0]
    width, height = page.get_size()  # points
    assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (102, 76)
    text = page.get_textpage().get_text_range()
    assert "Zoë Łukasiewicz" in text and "ESCORT REQUIRED" in text and "Jane Doe" in text and "V-12" in text
    image = page.render(scale=4).to_pil()
    image.save(shots / "badge-label.png")
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [wo]
    a4 = pypdfium2.PdfDocument(sheet.content)[0]
    assert tuple(round(v / 72 * 25.4) for v in a4.get_size()) == (210, 297)
    a4.render(scale=2).to_pil().save(shots / "badge-sheet.png")


async def test_the_tablets_camera_takes_the_photo_the_desk_and_the_badge_show(settings, factory, db, client, shots):  # type: ignore[no-untyped-def]  # noqa: F811
    """Chromium's fake camera stands in for the tablet's: the guard takes the picture, the desk shows it,
    the badge carries it; a file that is not an image is refused; retention removes it."""
    import shutil

    import pytest
    from playwright.async_api import async_playwright

    from gatehouse.operators.models import VisitorPhoto
    from tests.console.test_desk import _offline
    from tests.harness.test_attack_defects import real_server

    if not shutil.which("chromium"):
        pytest.skip("Debian chromium is installed by scripts/test.sh")
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    email = f"cam.{site.lower()}@operator.example"
    async with db.write() as s:
        await accounts.set_email(s, op.name, email)
    await set_password(db, op.name, PASSWORD)
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=0)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    assert (await client.put(f"/ops/v1/access-tickets/{wo}/check-in", json={"badgeNumber": "P-1"},
                             headers=op.token_headers)).status_code == 200
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=[
                "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"])
            try:
                context = await browser.new_context(viewport={"width": 1280, "height": 900})
                await context.grant_permissions(["camera"], origin=base)
                page = await context.new_page()
                outside = await _offline(page, base)
                await browser_sign_in(page, base, email, PASSWORD)
                await page.goto(f"{base}/console/desk/tickets/{wo}")
                await page.click("[data-camera]")  # the camera opens
                await page.wait_for_selector("[data-camera] >> text=Take the picture")
                for _ in range(50):  # the page's strict CSP forbids wait_for_function's eval: poll instead
                    if await page.evaluate("document.querySelector('video.camera').videoWidth") > 0:
                        break
                    await page.wait_for_timeout(100)
                await page.click("[data-camera]")  # the picture
                await page.wait_for_selector("img.visitor-photo")
                assert await page.evaluate("document.querySelector('img.visitor-photo').naturalWidth") > 0
                await page.screenshot(path=str(shots / "desk-photo.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()
    async with db.read() as s:
        taken = await s.get(VisitorPhoto, wo)
    assert taken is not None and taken.content_type == "image/jpeg" and taken.data[:3] == b"\xff\xd8\xff"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app), base_url="http://testserver") as c:
        assert (await sign_in(c, email, PASSWORD)).status_code == 303
        label = await c.get(f"/console/desk/tickets/{wo}/badge.pdf")
        csrf = (await c.get(f"/console/desk/tickets/{wo}")).text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = await c.post(f"/console/desk/tickets/{wo}/photo", data={"csrf": csrf},
                               files={"photo": ("x.jpg", b"MZ not an image")})
    assert refused.status_code == 415
    page = pypdfium2.PdfDocument(label.content)[0]
    images = [o for o in page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert len(images) == 2  # the QR and the photo
    page.render(scale=4).to_pil().save(shots / "badge-with-photo.png")
