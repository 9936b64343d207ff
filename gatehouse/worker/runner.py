"""The worker loop: claim due outbox rows under a lease, deliver them concurrently, record every
attempt, retry on each channel's schedule; and run the periodic jobs. Any number of workers may
run at once (in API processes and as `gatehouse worker`): claims use `FOR UPDATE SKIP LOCKED` on
PostgreSQL and a short write transaction on SQLite, and a worker that dies loses its lease."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Collection
from datetime import timedelta

from sqlalchemy import and_, insert, update

from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.metrics import DELIVERIES
from gatehouse.worker import claims, outbox
from gatehouse.worker.jobs import Job, run_job_forever
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage
from gatehouse.worker.outbox import Channel, Message, PermanentFailure, TemporaryFailure

log = logging.getLogger("gatehouse.worker")


# While an API process serves requests, the worker writes in slots: at most one claim every
# BUSY_SLOT_SECONDS (of that slot's share of busy_rate), and the outcomes gathered for as long. On
# SQLite each of the worker's write transactions holds the one writer through its thread hops while
# the requests' creates wait: claims a tenth of a second apart and outcomes written as they came (some
# 20 transactions a second) cost creates a fifth of their rate. A slot, not a token bucket: in any
# window of T seconds it claims at most (T / BUSY_SLOT_SECONDS + 1) slots' worth, from the start.
BUSY_SLOT_SECONDS = 0.5


class Worker:
    def __init__(self, db: Database, *, jobs: list[Job], lease_seconds: float = 60.0, concurrency: int = 32,
                 poll_seconds: float = 1.0, batch: int = 50, shutdown_grace: float = 20.0,
                 busy: Callable[[], bool] | None = None, busy_rate: float = 100.0,
                 channels: Collection[str] | None = None) -> None:
        self.db = db
        # the channels this worker delivers (None: every one registered); a worker for one channel
        # never waits behind another's backlog
        self.channels = None if channels is None else frozenset(channels)
        self.jobs = jobs
        self.lease = timedelta(seconds=lease_seconds)
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.shutdown_grace = shutdown_grace
        self.name = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.wake = asyncio.Event()
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.delivered = 0
        self._outcomes: list[tuple] = []
        self._writer: asyncio.Task[None] | None = None
        # In an API process: while `busy()`, claims are paced to `busy_rate` per second (one claim per
        # slot, above), so deliveries never take the event loop or the writer from requests.
        self.busy = busy
        self.busy_rate = busy_rate
        self._next_claim = 0.0  # time.monotonic() of the next slot while busy
        # a slot holds at least one claim: under 2 a second, the slot stretches instead (1/s: 1 a second)
        self._slot = max(BUSY_SLOT_SECONDS, 1.0 / busy_rate)
        self._per_slot = max(1, int(busy_rate * self._slot))

    def nudge(self) -> None:
        self.wake.set()

    # --- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        self.db.on_outbox_commit.append(self.nudge)
        serving = list(outbox.channels.values())
        for channel in serving:
            if channel.on_start is not None:
                channel.on_start()
        job_tasks = [asyncio.create_task(run_job_forever(self.db, job), name=f"job:{job.name}") for job in self.jobs]
        listener = await self._listen()
        try:
            while not self.stopping.is_set():
                room = min(self.concurrency - len(self.in_flight), self.batch)
                paced = room > 0 and self.busy is not None and self.busy()
                if paced:
                    now = time.monotonic()
                    if now < self._next_claim:
                        await asyncio.sleep(self._next_claim - now)
                        continue  # (busy may have ended meanwhile)
                    self._next_claim = now + self._slot
                    room = min(room, self._per_slot)
                claimed = await self._claim(room) if room > 0 else []
                for message in claimed:
                    task = asyncio.create_task(self._deliver(message))
                    self.in_flight.add(task)
                    task.add_done_callback(self._done)
                if claimed and len(claimed) == room:
                    continue  # more may be due right now
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), timeout=self.poll_seconds)
                except TimeoutError:
                    pass
        finally:
            if self.nudge in self.db.on_outbox_commit:
                self.db.on_outbox_commit.remove(self.nudge)
            for task in job_tasks:
                task.cancel()
            await asyncio.gather(*job_tasks, return_exceptions=True)
            await self._drain()
            for channel in serving:
                if channel.on_stop is not None:
                    await channel.on_stop()
            if listener is not None:
                try:
                    await listener.close()
                except Exception:
                    pass

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.wake.set()  # room for more

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    async def _drain(self) -> None:
        """SIGTERM: finish what is under way (up to the grace), then give back what is unfinished."""
        if self.in_flight:
            _done, pending = await asyncio.wait(set(self.in_flight), timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            async with self.db.write() as session:
                await session.execute(update(OutboxMessage).where(
                    OutboxMessage.leased_by == self.name, OutboxMessage.status == "pending")
                    .values(lease_until=None, leased_by="").execution_options(synchronize_session=False))
        except Exception:
            log.warning("could not release leases at shutdown", exc_info=True)

    async def _listen(self):
        """PostgreSQL: LISTEN for commits that wrote outbox rows in any process (polling stays as
        the fallback if this connection is lost)."""
        if self.db.is_sqlite:
            return None
        try:
            import asyncpg

            url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            conn = await asyncpg.connect(url)
            await conn.add_listener(outbox.NOTIFY_CHANNEL, lambda *_: self.wake.set())
            return conn
        except Exception:
            log.warning("LISTEN unavailable; polling every %.1f s", self.poll_seconds, exc_info=True)
            return None

    # --- claims and deliveries ------------------------------------------------------------------------

    async def _claim(self, n: int) -> list[Message]:
        known = [c for c in outbox.channels if self.channels is None or c in self.channels]
        if not known:
            return []
        now = utcnow()
        leased = await claims.claim(self.db, known, n, now, now + self.lease, self.name)
        return [Message(r["id"], r["channel"], r["target"], r["event_id"], json.loads(r["payload"]), r["attempts"])
                for r in leased]

    async def _deliver(self, message: Message) -> None:
        channel = outbox.channels[message.channel]
        started = time.perf_counter()
        attempted_at = utcnow()
        status: int | None = None
        body = ""
        outcome = "delivered"
        error = ""
        try:
            result = await asyncio.wait_for(channel.handler(message), timeout=channel.timeout)
            if result is not None:
                status, body = result.status, result.body
        except PermanentFailure as exc:
            outcome, error, status, body = "dead", str(exc), exc.status, exc.body
        except TemporaryFailure as exc:
            outcome, error, status, body = "retry", str(exc), exc.status, exc.body
        except TimeoutError:
            outcome, error = "retry", f"timed out after {channel.timeout:g} s"
        except asyncio.CancelledError:
            raise  # shutdown: the lease is released, another worker takes it
        except Exception as exc:
            log.exception("handler for %s failed", message.channel)
            outcome, error = "retry", f"{type(exc).__name__}: {exc}"
        duration = int((time.perf_counter() - started) * 1000)
        DELIVERIES.labels(message.channel, outcome).inc()
        await self._finish(channel, message, outcome, error[:1024], status, body[:1024], attempted_at, duration)

    async def _finish(self, channel: Channel, message: Message, outcome: str, error: str, status: int | None,
                      body: str, attempted_at, duration: int) -> None:
        """Queue the outcome; one writer records them in batches (one transaction for many
        deliveries: on SQLite's single writer that is what lets one worker keep hundreds per second)."""
        done = asyncio.get_running_loop().create_future()
        self._outcomes.append((channel, message, outcome, error, status, body, attempted_at, duration, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_outcomes())
        await done  # the delivery task ends only once its outcome is recorded (SIGTERM drains correctly)

    async def _write_outcomes(self) -> None:
        while self._outcomes:
            if self.busy is not None and self.busy():
                await asyncio.sleep(BUSY_SLOT_SECONDS)  # a slot's outcomes, written together
            batch, self._outcomes = self._outcomes[:200], self._outcomes[200:]
            for attempt in range(5):
                try:
                    if self.db.is_sqlite and not any(item[0].on_outcome for item in batch):
                        await self._record_lean([item[:8] for item in batch])
                    else:
                        async with self.db.write() as session:
                            await self._record_batch(session, [item[:8] for item in batch])
                    break
                except Exception:
                    log.warning("could not record %d deliveries (try %d)", len(batch), attempt + 1, exc_info=True)
                    await asyncio.sleep(0.2 * (attempt + 1))
            for item in batch:
                if not item[8].done():
                    item[8].set_result(None)
            await asyncio.sleep(0)  # let more outcomes gather

    async def _record_batch(self, session, items: list[tuple]) -> None:
        """Every attempt in one multi-row INSERT; the successes in one UPDATE (only rows this worker
        still leases: one that lost its lease records its attempt but decides nothing); failures,
        whose next time differs, one by one."""
        await session.execute(insert(DeliveryAttempt), self._attempt_rows(items))
        delivered = [(c, m, status) for c, m, outcome, _e, status, _b, _a, _d in items if outcome == "delivered"]
        if delivered:
            now = utcnow()
            held = set((await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([m.id for _c, m, _s in delivered]),
                                            OutboxMessage.leased_by == self.name)
                .values(status="delivered", lease_until=None, leased_by="", updated_at=now, last_error="")
                .returning(OutboxMessage.id).execution_options(synchronize_session=False))).scalars())
            for channel, message, status in delivered:
                if message.id in held:
                    self.delivered += 1
                    if channel.on_outcome is not None:
                        await channel.on_outcome(session, message, "delivered", status)
        for channel, message, outcome, error, status, _body, _at, _ms in items:
            if outcome != "delivered":
                await self._record(session, channel, message, outcome, error, status)

    def _attempt_rows(self, items: list[tuple]) -> list[dict]:
        """The delivery_attempts rows of a batch of outcomes, one per attempt."""
        return [{"message_id": m.id, "attempted_at": at, "duration_ms": ms, "ok": outcome == "delivered",
                 "response_status": status, "error": error, "response_body": body, "worker": self.name}
                for _channel, m, outcome, error, status, body, at, ms in items]

    async def _record_lean(self, items: list[tuple]) -> None:
        """`_record_batch` for channels with no `on_outcome`, through the lean writer (SQLite: claims.py)."""
        attempts = self._attempt_rows(items)
        decisions = [(m.id, _decision(channel, m, outcome, error)[0])
                     for channel, m, outcome, error, _status, _body, _at, _ms in items]
        decided = await claims.record(self.db, self.name, attempts, decisions)
        self.delivered += sum(1 for _c, m, outcome, *_rest in items if outcome == "delivered" and m.id in decided)

    async def _record(self, session, channel: Channel, message: Message, outcome: str, error: str,
                      status: int | None) -> None:
        values, outcome = _decision(channel, message, outcome, error)
        # only while this worker still holds the lease: one that lost it (it ran past 60 s and another
        # worker took over) records its attempt but decides nothing
        done = await session.execute(update(OutboxMessage).where(and_(
            OutboxMessage.id == message.id, OutboxMessage.leased_by == self.name)).values(**values)
            .execution_options(synchronize_session=False))
        if done.rowcount and channel.on_outcome is not None:
            await channel.on_outcome(session, message, outcome, status)


def _decision(channel: Channel, message: Message, outcome: str, error: str) -> tuple[dict, str]:
    """What an attempt's outcome makes of its message (its values, and the outcome: a retry past the
    channel's schedule is dead)."""
    now = utcnow()
    values: dict = {"lease_until": None, "leased_by": "", "updated_at": now, "last_error": error}
    if outcome == "retry":
        if message.attempts <= len(channel.schedule):
            values.update(status="pending", next_attempt_at=now + channel.schedule[message.attempts - 1])
        else:
            outcome = "dead"
    if outcome in ("dead", "delivered"):
        values["status"] = outcome
    return values, outcome
