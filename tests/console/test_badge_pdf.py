"""The printed badge (SPEC §14; issue 23 in part): a 102 × 76 mm label and an A4 sheet, rendered to
PNG and read back — the name, the ESCORT REQUIRED band for an escorted visitor, and a QR code the
desk's scanner decodes to the work order id."""

from __future__ import annotations

import httpx
import pypdfium2
import zxingcpp

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from tests.console.signin import sign_in
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
