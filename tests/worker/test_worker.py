"""The worker (SPEC §9, issue 9): at least once under kill -9, no double processing by two healthy
workers, retries on the schedule, dead after it, wake-up on commit, clean SIGTERM. Deliveries go
to a real HTTP receiver through the `test-http` channel of tests/worker_plugin.py."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, update

from tests.receiver import Receiver
import tests.worker_plugin  # noqa: F401 - registers the test-http channel in this process
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage
from gatehouse.worker.outbox import enqueue
from gatehouse.worker.runner import BUSY_SLOT_SECONDS, Worker



async def _enqueue(db, url: str, n: int, tag: str) -> list[int]:  # type: ignore[no-untyped-def]
    async with db.write() as s:
        rows = [await enqueue(s, "test-http", {"url": url, "tag": tag}, event_id=f"{tag}-{i}") for i in range(n)]
        await s.flush()
        return [r.id for r in rows]


async def _statuses(db, ids: list[int]) -> Counter:  # type: ignore[no-untyped-def]
    async with db.read() as s:
        return Counter((await s.execute(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids)))).scalars())


async def _wait(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def _running(db, **kw):  # type: ignore[no-untyped-def]
    # these tests' own channel only: the session's outbox holds every earlier test's mail and webhooks
    worker = Worker(db, jobs=[], **{"channels": {"test-http"}, **kw})
    return worker, asyncio.create_task(worker.run())


async def _stop(*pairs) -> None:  # type: ignore[no-untyped-def]
    for worker, task in pairs:
        worker.stop()
    await asyncio.gather(*(t for _, t in pairs))


async def test_two_healthy_workers_deliver_each_message_once(db, receivers):
    rx = receivers()
    ids = await _enqueue(db, rx.url, 120, "pair")
    a, b = await _running(db, poll_seconds=0.2, batch=10), await _running(db, poll_seconds=0.2, batch=10)
    try:
        await _wait(lambda: _done(db, ids))
    finally:
        await _stop(a, b)
    got = rx.ids()
    assert set(got) == set(ids) and max(got.values()) == 1  # every one, none twice
    assert a[0].delivered > 0 and b[0].delivered > 0  # both really worked


async def _done(db, ids) -> bool:  # type: ignore[no-untyped-def]
    return (await _statuses(db, ids))["delivered"] == len(ids)


async def test_retries_on_schedule_then_delivered(db, receivers):
    rx = receivers(lambda n, body: (503, 0.0) if body["attempt"] <= 2 else (200, 0.0))
    [mid] = await _enqueue(db, rx.url, 1, "retry")
    w = await _running(db, poll_seconds=0.05)
    try:
        await _wait(lambda: _done(db, [mid]))
    finally:
        await _stop(w)
    times = [g["at"] for g in rx.records()]
    assert [g["attempt"] for g in rx.records()] == [1, 2, 3]
    assert times[1] - times[0] >= 0.3 and times[2] - times[1] >= 0.6  # the channel's schedule
    async with db.read() as s:
        attempts = (await s.execute(select(DeliveryAttempt).where(DeliveryAttempt.message_id == mid)
                                    .order_by(DeliveryAttempt.id))).scalars().all()
    assert [(a.ok, a.response_status) for a in attempts] == [(False, 503), (False, 503), (True, 200)]


async def test_dead_after_the_schedule_and_at_once_on_permanent(db, receivers):
    failing = receivers(lambda n, body: (500, 0.0))
    gone = receivers(lambda n, body: (410, 0.0))
    [m1] = await _enqueue(db, failing.url, 1, "dead")
    [m2] = await _enqueue(db, gone.url, 1, "gone")
    w = await _running(db, poll_seconds=0.05)
    try:
        await _wait(lambda: _all_dead(db, [m1, m2]))
    finally:
        await _stop(w)
    assert len(failing.got) == 3  # the first try and the schedule's two retries
    assert len(gone.got) == 1
    async with db.read() as s:
        row = await s.get(OutboxMessage, m1)
    assert row.status == "dead" and row.last_error == "HTTP 500"


async def _all_dead(db, ids) -> bool:  # type: ignore[no-untyped-def]
    return (await _statuses(db, ids))["dead"] == len(ids)


async def test_a_commit_wakes_the_worker_within_a_second(db, receivers):
    rx = receivers()
    w = await _running(db, poll_seconds=30)  # polling alone would take 30 s
    try:
        await asyncio.sleep(0.3)
        started = time.monotonic()
        [mid] = await _enqueue(db, rx.url, 1, "wake")
        await _wait(lambda: _done(db, [mid]), timeout=5)
        assert time.monotonic() - started < 1.0
    finally:
        await _stop(w)


async def test_a_rolled_back_change_sends_nothing(db, receivers):
    rx = receivers()
    with pytest.raises(RuntimeError):
        async with db.write() as s:
            await enqueue(s, "test-http", {"url": rx.url}, event_id="rolled-back")
            raise RuntimeError("the change fails")
    async with db.read() as s:
        n = (await s.execute(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.event_id == "rolled-back"))).scalar()
    assert n == 0


def _worker_process(settings, extra: dict | None = None) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GATEHOUSE_DATABASE_URL": settings.effective_database_url,
           "GATEHOUSE_DATA_DIR": str(settings.data_dir), "GATEHOUSE_WORKER_PLUGINS": "tests.worker_plugin",
           "GATEHOUSE_JOBS_ENABLED": "false", "GATEHOUSE_WORKER_LEASE_SECONDS": "2",
           "GATEHOUSE_WORKER_POLL_SECONDS": "0.3", "GATEHOUSE_LOG_LEVEL": "WARNING",
           # its own channel: the session's outbox holds every earlier test's mail and webhooks, to
           # servers long gone (CI once timed out the kill test while the second worker churned through them)
           "GATEHOUSE_WORKER_CHANNELS": "test-http", **(extra or {})}
    return subprocess.Popen([sys.executable, "-m", "gatehouse", "worker"], env=env, cwd=os.getcwd(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_kill_9_mid_delivery_loses_nothing(settings, db, receivers):
    """A worker killed with deliveries under way: after its lease, another worker delivers them."""
    rx = receivers(lambda n, body: (200, 0.4))  # slow receiver: deliveries are in flight when the kill comes
    ids = await _enqueue(db, rx.url, 60, "kill")
    first = _worker_process(settings)
    try:
        await _wait(lambda: _some_received(rx, 5), timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    assert (await _statuses(db, ids))["delivered"] < len(ids)  # it died with work left
    second = _worker_process(settings)
    try:
        await _wait(lambda: _done(db, ids), timeout=60)
    finally:
        second.terminate()
        second.wait(30)
    got = rx.ids()
    assert set(got) >= set(ids)  # every message at least once
    assert second.returncode == 0, second.stderr.read() if second.stderr else ""


async def _some_received(rx: Receiver, n: int) -> bool:
    return len(rx.got) >= n


async def test_sigterm_finishes_what_is_under_way(settings, db, receivers):
    rx = receivers(lambda n, body: (200, 1.0))
    ids = await _enqueue(db, rx.url, 3, "term")
    proc = _worker_process(settings)
    try:
        await _wait(lambda: _some_received(rx, 1), timeout=30)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0
    async with db.read() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))).scalars().all()
    # whatever it had started is finished; nothing is left leased to the stopped worker
    assert all(r.leased_by == "" for r in rows)
    assert all(r.status == "delivered" for r in rows if r.id in rx.ids())


async def _delivered_while_busy(db, receivers, *, messages: int, busy_rate: float, seconds: float) -> int:  # type: ignore[no-untyped-def]
    """How many of `messages` a worker told that requests are being served delivers in `seconds`;
    then, idle, it must deliver them all."""
    rx = receivers()
    ids = await _enqueue(db, rx.url, messages, f"paced-{busy_rate}")
    serving = True
    pair = await _running(db, poll_seconds=0.2, busy=lambda: serving, busy_rate=busy_rate)
    try:
        await asyncio.sleep(seconds)
        during = len(rx.ids())
        serving = False
        await _wait(lambda: _done(db, ids), timeout=10)
    finally:
        await _stop(pair)
    assert set(rx.ids()) == set(ids)
    return during


async def test_a_worker_in_an_api_process_paces_deliveries_while_requests_are_served(db, receivers):
    """Requests first (app.py passes the middleware's in-flight count as `busy`): while it is set,
    claims go at `busy_rate` per second; the rest waits in the outbox and goes once the API is idle."""
    during = await _delivered_while_busy(db, receivers, messages=60, busy_rate=20, seconds=1.0)
    # about 20 in that second: paced, never stopped. Claims while busy come one per slot of
    # BUSY_SLOT_SECONDS, each of busy_rate x slot (10): in a window under 1.5 s, at most 3 slots
    assert 8 <= during <= 3 * int(20 * BUSY_SLOT_SECONDS), during


async def test_a_slow_busy_rate_stretches_the_slot_instead_of_rounding_up(db, receivers):
    """Under two a second, a slot of half a second would hold less than one claim: it stretches, so
    the configured rate holds (1/s: slots a second apart, so at most 3 in a window under 3 s)."""
    during = await _delivered_while_busy(db, receivers, messages=10, busy_rate=1.0, seconds=2.2)
    assert 1 <= during <= 3, during  # half-second slots of one claim each would have made 5


async def test_a_worker_for_some_channels_leaves_the_others_to_their_workers(db, receivers):
    """`channels`: a worker dedicated to some channels claims nothing of the others, so it never
    waits behind their backlog; the others' messages stay pending for a worker that delivers them."""
    rx = receivers()
    ids = await _enqueue(db, rx.url, 5, "other-channel")
    pair = await _running(db, poll_seconds=0.1, channels={"mail"})
    try:
        await asyncio.sleep(1.0)
        assert not rx.ids() and (await _statuses(db, ids))["pending"] == 5
    finally:
        await _stop(pair)
    pair = await _running(db, poll_seconds=0.1, channels={"test-http"})
    try:
        await _wait(lambda: _done(db, ids), timeout=10)
    finally:
        await _stop(pair)
    assert set(rx.ids()) == set(ids)


async def test_a_worker_told_of_a_channel_nobody_has_refuses_to_start(settings):
    """`gatehouse worker --channels` with a typo would deliver nothing, silently: it exits at once
    naming the channel and the ones there are."""
    proc = _worker_process(settings, {"GATEHOUSE_WORKER_CHANNELS": "mail,webhooks"})
    code = await asyncio.to_thread(proc.wait, 30)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 2, err
    assert "no channel named webhooks" in err and "known: mail, test-http, webhook" in err, err


async def test_a_worker_that_lost_its_lease_records_its_attempt_but_decides_nothing(db, receivers):
    """A delivery that outran its lease (another worker took the message meanwhile): its attempt is
    on record, the message stays the other worker's to decide."""
    from gatehouse.kit.db import utcnow
    from gatehouse.worker import outbox

    rx = receivers()
    [mid] = await _enqueue(db, rx.url, 1, "lost-lease")
    worker = Worker(db, jobs=[], channels={"test-http"})
    [message] = await worker._claim(1)
    assert message.id == mid and message.attempts == 1
    async with db.write() as s:
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == mid).values(leased_by="another-worker"))
    await worker._finish(outbox.channels["test-http"], message, "delivered", "", 200, "ok", utcnow(), 5)
    async with db.read() as s:
        row = await s.get(OutboxMessage, mid)
        attempts = (await s.execute(select(func.count()).select_from(DeliveryAttempt)
                                    .where(DeliveryAttempt.message_id == mid))).scalar()
    assert (row.status, row.leased_by, attempts, worker.delivered) == ("pending", "another-worker", 1, 0)
    [again] = await Worker(db, jobs=[], channels={"test-http"})._claim(1) or [None]
    assert again is None  # still leased: nobody else claims it before the lease runs out
