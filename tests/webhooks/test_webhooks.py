"""Webhooks (SPEC §11, issue 11) against a real HTTP receiver, signatures verified with the
official `standardwebhooks` library: a ticket's lifecycle, rotation, failure and recovery, 410,
a hanging receiver, redelivery, isolation, and the SSRF guard at creation and at delivery."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gatehouse.app import create_app
from gatehouse.webhooks.channel import install
from gatehouse.webhooks.repository import CHANNEL
from gatehouse.worker.runner import Worker
from tests.facility_access.conftest import request_for
from tests.factories import make_ticket

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"
FAST = [timedelta(seconds=0.2)] * 3



@pytest.fixture
async def deliverer(settings, db):  # type: ignore[no-untyped-def]
    install(settings, db, schedule=FAST)
    # webhooks only: the session's outbox holds every earlier test's mail, whose servers are gone
    worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL})
    task = asyncio.create_task(worker.run())
    yield worker
    worker.stop()
    await task


async def _until(predicate, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _hook(client, caller, url: str, types=("*",)) -> dict:  # type: ignore[no-untyped-def]
    r = await client.post("/v1/webhooks", json={"url": url, "eventTypes": list(types), "description": "test"},
                          headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_ticket_lifecycle_is_delivered_signed_with_the_ticket_as_get_shows_it(client, factory, db, receivers,
                                                                                        deliverer):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    rx = receivers()
    hook = await _hook(client, caller, rx.url)
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    assert "secret" not in (await client.get(f"/v1/webhooks/{hook['webhookId']}", headers=caller.headers)).json()
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                          headers=caller.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    assert (await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B1"}, headers=op.token_headers)).status_code == 200
    assert (await client.post("/v1/comments", json={"requestId": wo, "comment": "hi"}, headers=caller.headers)
            ).status_code == 200
    assert (await client.put(f"{OPS}/{wo}/complete", headers=op.token_headers)).status_code == 200
    await _until(lambda: len(rx.got) >= 4)
    await asyncio.sleep(0.3)
    # deliveries run concurrently: each event once, in any order (receivers order by the ticket's state)
    assert sorted(rx.types()) == ["access_ticket.checked_in", "access_ticket.completed", "access_ticket.created",
                                  "comment.created"]
    verifier = Webhook(hook["secret"])
    for headers, body, _t in rx.got:
        verifier.verify(body, headers)  # raises if the signature or timestamp is wrong
        assert headers["user-agent"].startswith("Gatehouse-Webhooks/")
        assert headers["content-type"] == "application/json"
    ids = [h["webhook-id"] for h, _b, _t in rx.got]
    assert len(set(ids)) == 4
    final = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    by_type = {b["type"]: b for b in rx.bodies()}
    assert by_type["access_ticket.completed"]["data"] == final
    assert by_type["comment.created"]["data"]["ticketId"] == wo and by_type["comment.created"]["data"]["comment"] == "hi"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").verify(rx.got[0][1], rx.got[0][0])

    # the delivery log, newest first
    deadline = time.monotonic() + 5
    while True:  # the receiver can answer before the worker records the attempt
        log = (await client.get(f"/v1/webhooks/{hook['webhookId']}/deliveries", headers=caller.headers)).json()
        if [d["status"] for d in log["content"]] == ["delivered"] * 4 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [d["status"] for d in log["content"]] == ["delivered"] * 4
    assert sorted(d["eventType"] for d in log["content"]) == sorted(rx.types())
    assert {d["responseStatus"] for d in log["content"]} == {200}


async def test_rotation_signs_with_both_secrets_and_redelivery_keeps_the_id(client, factory, db, receivers, deliverer):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    rx = receivers()
    hook = await _hook(client, caller, rx.url)
    r = await client.post(f"/v1/webhooks/{hook['webhookId']}/rotate-secret", headers=caller.headers)
    assert r.status_code == 201 and r.json()["secret"] != hook["secret"]
    new_secret = r.json()["secret"]
    assert (await client.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
    await _until(lambda: len(rx.got) == 1)
    headers, body, _t = rx.got[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(hook["secret"]).verify(body, headers)
    Webhook(new_secret).verify(body, headers)
    assert json.loads(body)["type"] == "webhook.test"
    log: dict = {"content": []}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not [d for d in log["content"] if d["attemptedAt"]]:
        log = (await client.get(f"/v1/webhooks/{hook['webhookId']}/deliveries", headers=caller.headers)).json()
        await asyncio.sleep(0.05)  # the receiver can answer before the worker records the attempt
    delivery = log["content"][0]["deliveryId"]
    r = await client.post(f"/v1/webhooks/{hook['webhookId']}/deliveries/{delivery}/redeliver", headers=caller.headers)
    assert r.status_code == 202, r.text
    await _until(lambda: len(rx.got) == 2)
    assert rx.got[1][0]["webhook-id"] == headers["webhook-id"] and rx.got[1][1] == body


async def test_failure_then_recovery_and_410_disables(client, factory, db, receivers, deliverer):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    flaky = receivers(lambda n, body: (503, 0.0) if n <= 2 else (200, 0.0))
    hook = await _hook(client, caller, flaky.url, types=["access_ticket.created"])
    await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                      headers=caller.headers)
    await _until(lambda: len(flaky.got) == 3)
    deadline = time.monotonic() + 5
    while True:
        log = (await client.get(f"/v1/webhooks/{hook['webhookId']}/deliveries", headers=caller.headers)
               ).json()["content"]
        if len(log) == 3 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert [d["status"] for d in log] == ["delivered", "failed", "failed"]
    assert [d["responseStatus"] for d in log] == [200, 503, 503]
    assert len({h["webhook-id"] for h, _b, _t in flaky.got}) == 1  # the same event every time

    gone = receivers(lambda n, body: (410, 0.0))
    hook2 = await _hook(client, caller, gone.url, types=["access_ticket.created"])
    await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                      headers=caller.headers)
    await _until(lambda: len(gone.got) >= 1)
    await asyncio.sleep(0.5)
    state = (await client.get(f"/v1/webhooks/{hook2['webhookId']}", headers=caller.headers)).json()
    assert state["enabled"] is False and "410" in state["disabledReason"]
    assert len(gone.got) == 1  # never retried


async def test_a_hanging_receiver_does_not_delay_the_others(client, factory, db, receivers, deliverer):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    slow = receivers(lambda n, body: (200, 4.0))
    fast = receivers()
    await _hook(client, caller, slow.url)
    await _hook(client, caller, fast.url)
    started = time.monotonic()
    for _ in range(3):
        await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                          headers=caller.headers)
    await _until(lambda: len(fast.got) == 3, timeout=3)
    assert time.monotonic() - started < 2.5


async def test_isolation_between_owners(client, factory, db, receivers, deliverer):
    a = await factory.tenant()
    b = await factory.tenant()
    ca, cb = next(iter(a.users.values())), next(iter(b.users.values()))
    site_a = next(iter(a.sites))
    op = await factory.operator([site_a])
    rx_a, rx_b, rx_op = receivers(), receivers(), receivers()
    hook_a = await _hook(client, ca, rx_a.url)
    await _hook(client, cb, rx_b.url)
    r = await client.post("/ops/v1/webhooks", json={"url": rx_op.url, "eventTypes": ["*"], "site": site_a},
                          headers=op.token_headers)
    assert r.status_code == 201, r.text
    op_hook = r.json()
    wid = hook_a["webhookId"]
    for method, path in (("GET", f"/v1/webhooks/{wid}"), ("PATCH", f"/v1/webhooks/{wid}"),
                         ("DELETE", f"/v1/webhooks/{wid}"), ("POST", f"/v1/webhooks/{wid}/rotate-secret"),
                         ("POST", f"/v1/webhooks/{wid}/test"), ("GET", f"/v1/webhooks/{wid}/deliveries"),
                         ("POST", f"/v1/webhooks/{wid}/deliveries/1/redeliver")):
        r = await client.request(method, path, headers=cb.headers,
                                 json={"description": "x"} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path, r.status_code)
        r = await client.request(method, path.replace("/v1/", "/ops/v1/"), headers=op.token_headers,
                                 json={"description": "x"} if method == "PATCH" else None)
        assert r.status_code == 404, (method, path)
    assert [h["webhookId"] for h in (await client.get("/v1/webhooks", headers=cb.headers)).json()] != [wid]
    other_op = await factory.operator([await factory.site()])
    assert (await client.get(f"/ops/v1/webhooks/{op_hook['webhookId']}", headers=other_op.token_headers)
            ).status_code == 404
    r = await client.post("/ops/v1/webhooks", json={"url": rx_op.url, "eventTypes": ["*"], "site": site_a},
                          headers=other_op.token_headers)
    assert r.status_code == 404
    await make_ticket(db, a)  # written directly (with its creation event); then a change through the API
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(a, start=0, end=1)], headers=ca.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]

    def of_wo(rx):  # type: ignore[no-untyped-def]
        return [b["data"] for b in rx.bodies() if b["data"]["ticketId"] == wo]

    await _until(lambda: len(of_wo(rx_a)) == 1 and len(of_wo(rx_op)) == 1)
    await asyncio.sleep(0.3)
    assert rx_b.got == []  # account B hears nothing of account A's tickets
    assert len(rx_a.got) == len(rx_op.got) == 2
    assert of_wo(rx_a) == of_wo(rx_op)


async def test_ssrf_guard_at_creation_and_at_delivery(settings, db, factory, receivers):
    strict = settings.model_copy(update={"webhook_allow_private": False})
    app = create_app(strict)
    async with LifespanManager(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            tenant = await factory.tenant()
            caller = next(iter(tenant.users.values()))
            for url in ("http://example.com/hook", "https://127.0.0.1/", "https://2130706433/", "https://0x7f.1/",
                        "https://127.1/", "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://10.0.0.5/",
                        "https://172.16.3.4/", "https://192.168.1.1/", "https://169.254.169.254/latest/meta-data",
                        "https://[fe80::1]/", "https://224.0.0.1/", "https://0.0.0.0/", "https://100.64.0.1/",
                        "https://[fd00::1]/", "https://[64:ff9b::a00:1]/", "https://240.0.0.1/"):
                r = await c.post("/v1/webhooks", json={"url": url, "eventTypes": ["*"]}, headers=caller.headers)
                assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "url", (url, r.text)
            # a name passes creation; where it points is checked at each delivery
            rx = receivers()
            port = rx.server.server_address[1]
            r = await c.post("/v1/webhooks", json={"url": f"https://localhost:{port}/hook", "eventTypes": ["*"]},
                             headers=caller.headers)
            assert r.status_code == 201, r.text
            hook = r.json()
            install(strict, db, schedule=FAST)
            worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL})
            task = asyncio.create_task(worker.run())
            try:
                assert (await c.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
                deadline = time.monotonic() + 5
                log: list = []
                while time.monotonic() < deadline and not log:
                    log = (await c.get(f"/v1/webhooks/{hook['webhookId']}/deliveries", headers=caller.headers)
                           ).json()["content"]
                    log = [d for d in log if d["attemptedAt"]]
                    await asyncio.sleep(0.05)
            finally:
                worker.stop()
                await task
                install(settings, db, schedule=FAST)
            assert log and "forbidden address" in log[0]["error"] and "loopback" in log[0]["error"]
            assert rx.got == []


async def test_bad_bodies_and_limits(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for body, field in (({"url": "https://x.example/h", "eventTypes": ["ticket.boom"]}, "eventTypes"),
                        ({"url": "https://x.example/h", "eventTypes": []}, "eventTypes"),
                        ({"url": "ftp://x.example/h", "eventTypes": ["*"]}, "url"),
                        ({"eventTypes": ["*"]}, "url")):
        r = await client.post("/v1/webhooks", json=body, headers=caller.headers)
        assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == field, r.text
    for i in range(20):
        await _hook(client, caller, f"https://x{i}.example/h")
    r = await client.post("/v1/webhooks", json={"url": "https://x.example/h", "eventTypes": ["*"]},
                          headers=caller.headers)
    assert r.status_code == 409
    plain = await factory.user(tenant, perms=["tickets:read"])
    assert (await client.get("/v1/webhooks", headers=plain.headers)).status_code == 403


async def test_no_redirects_and_five_days_of_failure_disable_and_mail(client, factory, db, receivers, deliverer):
    from sqlalchemy import select, update

    from gatehouse.accounts import service as accounts
    from gatehouse.kit.db import utcnow
    from gatehouse.webhooks.models import WebhookEndpoint
    from gatehouse.worker.models import OutboxMessage

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    async with db.write() as s:
        await accounts.set_email(s, caller.name, "owner@customer.example")
    target = receivers()
    redirecting = receivers(lambda n, body: (307, 0.0))
    redirecting.location = target.url
    hook = await _hook(client, caller, redirecting.url)
    assert (await client.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
    await _until(lambda: len(redirecting.got) >= 1)
    await asyncio.sleep(0.5)
    assert target.got == []  # a redirect is a failed attempt, never followed
    # an endpoint failing for five days is disabled and its owners are mailed
    async with db.write() as s:
        await s.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == hook["webhookId"])
                        .values(failing_since=utcnow() - timedelta(days=5, minutes=1)))
    assert (await client.post(f"/v1/webhooks/{hook['webhookId']}/test", headers=caller.headers)).status_code == 202
    deadline = time.monotonic() + 5
    state = {}
    while time.monotonic() < deadline:
        state = (await client.get(f"/v1/webhooks/{hook['webhookId']}", headers=caller.headers)).json()
        if not state["enabled"]:
            break
        await asyncio.sleep(0.05)
    assert state["enabled"] is False and "5 days" in state["disabledReason"]
    async with db.read() as s:
        mails = (await s.execute(select(OutboxMessage).where(OutboxMessage.channel == "mail",
                                                             OutboxMessage.target == "owner@customer.example"))
                 ).scalars().all()
    assert [json.loads(m.payload)["kind"] for m in mails] == ["webhook_disabled"]


async def test_an_upload_is_delivered_with_the_file_as_its_listing_shows_it(client, factory, db, receivers,
                                                                            deliverer):
    """The upload's closing transaction is the lean writer's: its webhook is planned before the
    attachment's row is in, from the file the upload made (webhooks/fanout.py), and must equal what
    the listing shows, plus ticketId; a staged upload (no ticket) is not sent to an account's hook."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    rx = receivers()
    hook = await _hook(client, caller, rx.url, types=["attachment.created"])
    wo = await make_ticket(db, tenant)
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = await client.post("/v1/attachments", params={"requestId": wo, "file_name": "plan.pdf"},
                          files={"file": ("x.pdf", pdf)}, headers=caller.headers)
    assert r.status_code == 200, r.text
    staged = await client.post("/v1/attachments/file", files={"uploadFile": ("loa.pdf", pdf)},
                               headers=caller.token_headers)
    assert staged.status_code == 201, staged.text
    await _until(lambda: len(rx.got) >= 1)
    await asyncio.sleep(0.5)  # a second delivery (the staged file) would have come by now
    assert len(rx.got) == 1, rx.types()
    headers, body, _t = rx.got[0]
    Webhook(hook["secret"]).verify(body, headers)
    listed = (await client.get(f"/v1/attachments/{wo}", headers=caller.headers)).json()
    sent = json.loads(body)
    assert sent["type"] == "attachment.created"
    assert sent["data"] == {**listed[0], "ticketId": wo} == r.json()
