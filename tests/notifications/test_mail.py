"""Mail (SPEC §10, issue 10) against a real SMTP server (aiosmtpd) that the tests start: the whole
lifecycle of a ticket and what each party received, both parts, headers, the QR code decoded;
a server that refuses, one that goes away and comes back, one that answers 550; the .eml folder."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import time
from datetime import timedelta

import pytest
import zxingcpp
from icalendar import Calendar
from aiosmtpd.controller import Controller
from PIL import Image
from sqlalchemy import select

from gatehouse.notifications.channel import install
from gatehouse.notifications.fanout import CHANNEL
from gatehouse.webhooks.repository import CHANNEL as WEBHOOKS
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage
from gatehouse.worker.runner import Worker
from tests.facility_access.conftest import request_for
from tests.net import free_port

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"
FAST = [timedelta(seconds=0.1)] * 5


class Inbox:
    """aiosmtpd handler: keeps every accepted message; `refuse(n, code)` answers the next n DATA with code."""

    def __init__(self) -> None:
        self.all: list[email.message.EmailMessage] = []
        self.refusals: dict[str, list[str]] = {}  # recipient -> the next replies to give it
        self.attempts = 0
        self.seen = 0  # messages before this index are "cleared"
        self.watch: set[str] = set()  # the work orders this test made (other tests' mail may pass through)

    @property
    def messages(self) -> list:  # type: ignore[type-arg]
        return [m for m in self.all[self.seen:] if m["X-Gatehouse-Work-Order"] in self.watch]

    def clear(self) -> None:
        self.seen = len(self.all)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.attempts += 1
        queued = self.refusals.get(envelope.rcpt_tos[0].lower())
        if queued:
            return queued.pop(0)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.all.append(msg)
        return "250 OK"

    def to(self, address: str) -> list:  # type: ignore[type-arg]
        return [m for m in self.messages if m["To"].lower() == address.lower()]

    def kinds(self) -> list[tuple[str, str]]:
        return sorted((m["To"].lower(), m["X-Gatehouse-Mail"]) for m in self.messages)


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port  # type: ignore[attr-defined]
    inbox.controller = controller  # type: ignore[attr-defined]
    yield inbox
    try:
        controller.stop()
    except Exception:  # noqa: BLE001 - a test may have stopped it already
        pass


@pytest.fixture
async def mailer(settings, db, smtp):  # type: ignore[no-untyped-def]
    """The mail channel pointed at the test's SMTP server, and a running worker."""
    mail_settings = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp.port}",
                                                "mail_from": "Gatehouse <desk@gatehouse.example>",
                                                "public_url": "https://gatehouse.example"})
    install(mail_settings, db, schedule=FAST)
    worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL, WEBHOOKS})  # not other tests' test-http
    task = asyncio.create_task(worker.run())
    yield worker
    worker.stop()
    await task


async def _settle(db, inbox: Inbox, expected: int, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = False
        for wo in inbox.watch:
            pending = pending or any(r.status == "pending" for r in await _mail_rows(db, wo))
        if not pending and len(inbox.messages) >= expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"mail did not settle: {len(inbox.messages)} of {expected}")


async def _world(factory):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read", "attachments:write"])
    requester = next(iter(tenant.users.values()))
    approver = await factory.user(tenant, perms=["visitor-access:approve", "tickets:read"])
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    return tenant, requester, approver, site, op


async def _set_email(db, name: str, address: str) -> None:  # type: ignore[no-untyped-def]
    from gatehouse.accounts import service as accounts

    async with db.write() as s:
        await accounts.set_email(s, name, address)


async def test_the_whole_lifecycle_mails_each_party_once(client, factory, db, smtp, mailer):
    tenant, requester, approver, site, op = await _world(factory)
    await _set_email(db, approver.name, "Approver@Customer.example")
    await _set_email(db, requester.name, "requester@customer.example")
    body = request_for(tenant, start=0, end=1)
    body["visitors"][0].update(visitorFirstName="<b>x</b>", visitorEmail="visitor@guest.example")
    body["emailNotifications"] = "n1@customer.example, N1@customer.example,approver@customer.example"
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    smtp.watch.add(wo)
    await _settle(db, smtp, 2)
    # created, pending: the list hears "received", the approver (also on the list) "approval needed", once
    assert smtp.kinds() == [("approver@customer.example", "approval_needed"), ("n1@customer.example", "request_received")]
    need = smtp.to("approver@customer.example")[0]
    assert f"https://gatehouse.example/console/requests/{wo}" in need.get_body(("plain",)).get_content()

    smtp.clear()
    assert (await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)).status_code == 200
    await _settle(db, smtp, 3)
    assert smtp.kinds() == [("approver@customer.example", "approved"), ("n1@customer.example", "approved"),
                            ("visitor@guest.example", "visitor_pass")]
    visitor_pass = smtp.to("visitor@guest.example")[0]
    for header in ("Message-ID", "Date", "Subject", "From"):
        assert visitor_pass[header]
    assert visitor_pass["Auto-Submitted"] == "auto-generated"
    assert wo in visitor_pass["Subject"] and site in visitor_pass["Subject"]
    text = visitor_pass.get_body(("plain",)).get_content()
    html = visitor_pass.get_body(("html",)).get_content()
    for expected in (wo, site, "government-issued photo ID", "America/New_York", "Cage A", body["escortFirstName"]):
        assert expected in text and expected in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # escaped, shown as text
    assert "<b>x</b>" in text  # the plain part is plain
    png = next(p for p in visitor_pass.walk() if p.get_content_type() == "image/png")
    cid = png["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.get_content())))
    assert [d.text for d in decoded] == [wo]
    # the visitor's page and the visit in their calendar (SPEC §15)
    link = next(w for w in text.split() if "/visit/" in w)
    assert link.startswith(f"https://gatehouse.example/visit/{wo}.") and link in html
    ics = next(p for p in visitor_pass.walk() if p.get_content_type() == "text/calendar")
    assert ics.get_param("method") == "PUBLISH" and ics.get_filename() == f"visit-{wo}.ics"
    invite = Calendar.from_ical(ics.get_content())
    (event,) = [c for c in invite.walk("VEVENT")]
    assert event.decoded("dtstart").tzinfo is not None and str(event.decoded("dtstart").tzinfo) == "America/New_York"
    uid = str(event["uid"])

    smtp.clear()
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B-42"}, headers=op.token_headers)
    assert r.status_code == 200, r.text
    assert (await client.post(f"{OPS}/{wo}/comments", json={"comment": "Badge <i>B-42</i> at door 3"},
                              headers=op.token_headers)).status_code == 200
    assert (await client.post("/v1/comments", json={"requestId": wo, "comment": "customer note"},
                              headers=requester.headers)).status_code == 200  # customers' comments mail nobody
    await _settle(db, smtp, 4)
    assert smtp.kinds() == [("approver@customer.example", "checked_in"), ("approver@customer.example", "operator_comment"),
                            ("n1@customer.example", "checked_in"), ("n1@customer.example", "operator_comment")]
    checked = smtp.to("n1@customer.example")
    assert any("B-42" in m.get_body(("plain",)).get_content() for m in checked)
    comment_html = next(m for m in checked if m["X-Gatehouse-Mail"] == "operator_comment").get_body(("html",)).get_content()
    assert "&lt;i&gt;B-42&lt;/i&gt;" in comment_html

    smtp.clear()
    assert (await client.put(f"{API}/access-tickets/{wo}/cancel", json={"cancelReason": "Duplicate request"},
                             headers=requester.headers)).status_code == 200
    await _settle(db, smtp, 3)
    assert smtp.kinds() == [("approver@customer.example", "cancelled"), ("n1@customer.example", "cancelled"),
                            ("visitor@guest.example", "visitor_cancelled")]
    assert "Duplicate request" in smtp.to("n1@customer.example")[0].get_body(("plain",)).get_content()
    cancelled = smtp.to("visitor@guest.example")[0]
    withdrawn = next(p for p in cancelled.walk() if p.get_content_type() == "text/calendar")
    assert withdrawn.get_param("method") == "CANCEL"
    (gone,) = [c for c in Calendar.from_ical(withdrawn.get_content()).walk("VEVENT")]
    assert str(gone["uid"]) == uid and str(gone["status"]) == "CANCELLED"  # the same event, withdrawn


async def test_denied_mails_the_list_and_the_requester(client, factory, db, smtp, mailer):
    tenant, requester, approver, _site, _op = await _world(factory)
    await _set_email(db, requester.name, "req@customer.example")
    body = request_for(tenant, start=0, end=1)
    body["emailNotifications"] = "list@customer.example"
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
          ).json()["workOrder"][0]["workOrderId"]
    smtp.watch.add(wo)
    await _settle(db, smtp, 1)
    smtp.clear()
    r = await client.put(f"{API}/access-tickets/{wo}/deny", json={"reason": "No escort that day"},
                         headers=approver.headers)
    assert r.status_code == 200
    await _settle(db, smtp, 2)
    assert smtp.kinds() == [("list@customer.example", "denied"), ("req@customer.example", "denied")]
    assert all("No escort that day" in m.get_body(("plain",)).get_content() for m in smtp.messages)


async def _mail_rows(db, wo: str) -> list:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return (await s.execute(select(OutboxMessage).where(OutboxMessage.channel == "mail",
                                                            OutboxMessage.payload.contains(wo)))).scalars().all()


async def test_temporary_refusals_retry_and_550_is_dead_at_once(client, factory, db, smtp, mailer):
    tenant, requester, _approver, _site, _op = await _world(factory)
    smtp.refusals["retry@customer.example"] = ["451 4.3.0 try later"] * 3
    body = request_for(tenant, start=0, end=1)
    body["emailNotifications"] = "retry@customer.example"
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
          ).json()["workOrder"][0]["workOrderId"]
    smtp.watch.add(wo)
    await _settle(db, smtp, 1)
    [row] = await _mail_rows(db, wo)
    assert row.status == "delivered" and row.attempts == 4
    async with db.read() as s:
        attempts = (await s.execute(select(DeliveryAttempt).where(DeliveryAttempt.message_id == row.id)
                                    .order_by(DeliveryAttempt.id))).scalars().all()
    assert [a.response_status for a in attempts] == [451, 451, 451, 250]

    smtp.refusals["nobody@customer.example"] = ["550 5.1.1 no such mailbox"]
    body["emailNotifications"] = "nobody@customer.example"
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
          ).json()["workOrder"][0]["workOrderId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (await _mail_rows(db, wo))[0].status == "pending":
        await asyncio.sleep(0.05)
    [row] = await _mail_rows(db, wo)
    assert row.status == "dead" and row.attempts == 1 and "550" in row.last_error


async def test_a_server_that_goes_away_and_comes_back(client, factory, db, smtp, settings):
    tenant, requester, _approver, _site, _op = await _world(factory)
    smtp.controller.stop()
    slow = [timedelta(seconds=0.5)] * 5
    install(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp.port}"}), db, schedule=slow)
    worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL, WEBHOOKS})  # not other tests' test-http
    task = asyncio.create_task(worker.run())
    try:
        body = request_for(tenant, start=0, end=1)
        body["emailNotifications"] = "later@customer.example"
        wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
              ).json()["workOrder"][0]["workOrderId"]
        await asyncio.sleep(0.8)
        smtp.watch.add(wo)
        [row] = await _mail_rows(db, wo)
        assert row.status == "pending" and row.attempts >= 1 and row.last_error  # refused while away
        smtp.controller = Controller(smtp, hostname="127.0.0.1", port=smtp.port)  # back, same address
        smtp.controller.start()
        await _settle(db, smtp, 1)
        [row] = await _mail_rows(db, wo)
        assert row.status == "delivered" and smtp.to("later@customer.example")
    finally:
        worker.stop()
        await task


async def test_without_smtp_mail_lands_as_eml_files(client, factory, db, settings, tmp_path):
    tenant, requester, approver, _site, _op = await _world(factory)
    folder_settings = settings.model_copy(update={"smtp_url": "", "data_dir": tmp_path})
    install(folder_settings, db, schedule=FAST)
    worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL, WEBHOOKS})  # not other tests' test-http
    task = asyncio.create_task(worker.run())
    try:
        body = request_for(tenant, start=0, end=1)
        body["visitors"][0]["visitorEmail"] = "eml.visitor@guest.example"
        wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=requester.headers)
              ).json()["workOrder"][0]["workOrderId"]
        assert (await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)).status_code == 200
        deadline = time.monotonic() + 10
        files: list = []
        while time.monotonic() < deadline and not files:
            files = sorted((tmp_path / "mail").glob(f"{wo}-visitor_pass-*.eml")) if (tmp_path / "mail").exists() else []
            await asyncio.sleep(0.05)
        assert files, "no .eml written"
        msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
        assert msg["To"] == "eml.visitor@guest.example" and wo in msg["Subject"]
        assert any(p.get_content_type() == "image/png" for p in msg.walk())
    finally:
        worker.stop()
        await task
