"""A delivery channel for the worker's tests (GATEHOUSE_WORKER_PLUGINS=tests.worker_plugin): it
POSTs the message to the URL in its payload, like a webhook, through the real worker machinery.
2xx delivered; 410 permanent; anything else (or no answer) temporary."""

from __future__ import annotations

import os
from datetime import timedelta

import httpx

from gatehouse.worker.outbox import Channel, Delivered, Message, PermanentFailure, TemporaryFailure, register

SCHEDULE = [timedelta(seconds=float(s)) for s in os.environ.get("GATEHOUSE_TEST_SCHEDULE", "0.3,0.6").split(",")]


async def deliver(message: Message) -> Delivered:
    # loopback http only: no CA bundle to load (a default client loads one, ~50 ms of the event loop
    # each; ten deliveries at once then took half a second and the pacing test's window came up short)
    async with httpx.AsyncClient(timeout=10, verify=False) as client:
        try:
            r = await client.post(message.payload["url"], json={"id": message.id, "eventId": message.event_id,
                                                                 "attempt": message.attempts, **message.payload})
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from None
    if r.status_code == 410:
        raise PermanentFailure("410 Gone", status=410, body=r.text)
    if not 200 <= r.status_code < 300:
        raise TemporaryFailure(f"HTTP {r.status_code}", status=r.status_code, body=r.text)
    return Delivered(r.status_code, r.text)


register(Channel("test-http", deliver, SCHEDULE, timeout=15))
