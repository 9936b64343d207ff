"""Issue 20 (4, 15): a mail says what its event says, whatever the ticket became before the worker
sent it; a mail that can never be built is dead at once, not retried for hours; names with line
breaks or bidirectional overrides never get in (API, and so the console and CSV that share it)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from gatehouse.facility_access.models import WorkOrder
from gatehouse.notifications.channel import install
from gatehouse.notifications.fanout import CHANNEL
from gatehouse.webhooks.repository import CHANNEL as WEBHOOKS
from gatehouse.worker.runner import Worker
from tests.facility_access.conftest import request_for
from tests.notifications.test_mail import FAST, _mail_rows, _set_email, _settle, _world, smtp  # noqa: F401

API = "/v1/facility-access"


async def _run_worker(settings, db, smtp):  # type: ignore[no-untyped-def]  # noqa: F811
    install(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{smtp.port}"}), db, schedule=FAST)
    worker = Worker(db, jobs=[], poll_seconds=0.1, channels={CHANNEL, WEBHOOKS})  # not other tests' test-http
    return worker, asyncio.create_task(worker.run())


async def test_approval_needed_says_pending_even_when_sent_after_the_approval(client, factory, db, settings,
                                                                             smtp):  # noqa: F811
    tenant, requester, approver, _site, _op = await _world(factory)
    await _set_email(db, approver.name, f"ann.{tenant.account_id.lower()}@customer.example")
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                          headers=requester.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    smtp.watch.add(wo)
    # approved before any worker sent the "approval needed" mail
    assert (await client.put(f"{API}/access-tickets/{wo}/approve", headers=approver.headers)).status_code == 200
    worker, task = await _run_worker(settings, db, smtp)
    try:
        await _settle(db, smtp, 1)
    finally:
        worker.stop()
        await task
    (need,) = [m for m in smtp.messages if m["X-Gatehouse-Mail"] == "approval_needed"]
    text = need.get_body(("plain",)).get_content()
    assert f"{wo} (Pending Approval)" in text and "(Approved)" not in text


async def test_a_line_break_in_an_old_row_stays_out_of_the_headers(client, factory, db, settings, smtp):  # noqa: F811
    tenant, requester, approver, _site, _op = await _world(factory)
    ann = f"ann2.{tenant.account_id.lower()}@customer.example"
    await _set_email(db, approver.name, ann)
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, start=0, end=1)],
                          headers=requester.headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    smtp.watch.add(wo)
    # a row from before names were checked: a line break in the name would start a header of its own
    async with db.write() as s:
        await s.execute(update(WorkOrder).where(WorkOrder.id == wo).values(visitor_last_name="Doe\r\nBcc: x@y.z"))
    worker, task = await _run_worker(settings, db, smtp)
    try:
        await _settle(db, smtp, 1)
    finally:
        worker.stop()
        await task
    (need,) = smtp.to(ann)
    assert need["Bcc"] is None and need["Subject"].endswith("Doe Bcc: x@y.z")  # the approver is told


async def test_a_mail_that_cannot_be_built_is_dead_at_once(client, factory, db, settings, smtp):  # noqa: F811
    from gatehouse.worker.outbox import enqueue

    tenant = await factory.tenant()
    r = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant)],
                          headers=next(iter(tenant.users.values())).headers)
    wo = r.json()["workOrder"][0]["workOrderId"]
    async with db.write() as s:  # a kind this version has no template for (written by a newer one)
        await enqueue(s, "mail", {"kind": "no_such_mail", "to": "x@customer.example", "ticketId": wo,
                                  "eventId": "e1", "at": "2026-12-03T10:00:00.000Z"}, target="x@customer.example",
                      event_id="e1")
    worker, task = await _run_worker(settings, db, smtp)
    try:
        for _ in range(100):
            rows = [r for r in await _mail_rows(db, wo) if "no_such_mail" in r.payload]
            if rows and rows[0].status != "pending":
                break
            await asyncio.sleep(0.1)
    finally:
        worker.stop()
        await task
    assert rows[0].status == "dead" and rows[0].attempts == 1, (rows[0].status, rows[0].attempts)
    assert "cannot be built" in rows[0].last_error


@pytest.mark.parametrize(("where", "value"), [("visitors[0].visitorLastName", "Doe\r\nBcc: x@y.z"),
                                               ("visitors[0].visitorFirstName", "Ann\u202egpj.exe"),
                                               ("company", "ACME\x07"), ("visitorHostCompany", "Host\nCo"),
                                               ("escortFirstName", "Esc\u2028ort")])
async def test_control_and_bidi_characters_are_refused_in_names(client, factory, where, value):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    if where.startswith("visitors"):
        body["visitors"][0][where.split(".")[1]] = value
    else:
        body[where] = value
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400, r.text
    (d,) = r.json()["error"]["details"]
    assert d["field"] == f"[0].{where}" and d["code"] == "INVALID_CHARACTER" and "control character U+" in d["message"]


async def test_notes_and_comments_keep_their_line_breaks(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    body["notes"] = "Line one\nLine two\tindented"
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "a\r\nb"}, headers=caller.headers)
    assert r.status_code == 200
    r = await client.post("/v1/comments", json={"requestId": wo, "comment": "a\u202eb"}, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "comment"


async def test_a_nul_in_site_is_a_clear_400_before_any_lookup(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    body["sites"][0]["site"] = "IAD\u000024"
    body["visitorBadgeStartDate"] = "2001-01-01"  # another problem too: the rule checks still must not run on NUL
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 400, r.text
    assert any(d["field"] == "[0].sites[0].site" and d["code"] == "INVALID_CHARACTER"
               for d in r.json()["error"]["details"])
