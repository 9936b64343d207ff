"""How the parts are put together, in one place above every package: the fan-outs that turn
events into outbox rows (installed by the app, the CLI and every worker, so a change made anywhere
tells the same people), the delivery channels, and the worker itself (in an API process or as
`gatehouse worker`). The worker package knows nothing of mail or webhooks; this file does."""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Callable
from typing import Any

from gatehouse.attachments.storage import Storage, open_storage
from gatehouse.config import Settings
from gatehouse.events import service as events
from gatehouse.events.types import EventType
from gatehouse.kit.db import Database
from gatehouse.kit.leanread import Rows
from gatehouse.kit.metrics import EVENTS, start_server
from gatehouse.worker import outbox
from gatehouse.worker.runner import Worker
from gatehouse.worker.schedules import default_jobs


def install_fanouts() -> None:
    """The planners of every event, on both write paths (events/service.py), in this order."""
    from gatehouse.attachments import linking
    from gatehouse.facility_access import staged
    from gatehouse.notifications import fanout as mail
    from gatehouse.watchlist import fanout as screening
    from gatehouse.webhooks import fanout as webhooks

    staged.install(linking)  # tickets name staged files; attachments links them
    events.subscribe(mail.plan, mail.ahead)
    events.subscribe(webhooks.plan, webhooks.ahead)
    events.subscribe(count_event)
    # screening at create: a hit is a hold and its own event, in the create's transaction (SPEC §14)
    events.subscribe(screening.plan, screening.ahead)


async def count_event(_rows: Rows, event: events.Recorded, _known: dict[str, Any]) -> list[events.Made]:
    """Tickets created and status changes for Prometheus: every event, by type."""
    EVENTS.labels(event.type).inc()
    return []


def start_metrics(settings: Settings) -> None:
    """The scrape endpoint on GATEHOUSE_METRICS_PORT (serve, demo, worker), when it is set."""
    if settings.metrics_port is None:
        return
    for event_type in EventType:  # every type of the vocabulary is a series from the first scrape, at 0
        EVENTS.labels(event_type.value)
    start_server(settings.metrics_host, settings.metrics_port, lambda: outbox_depth(settings))


def outbox_depth(settings: Settings) -> list[tuple[str, str, int]]:
    """Read from the scrape's thread with the plain drivers: it is not the app's event loop."""
    sql = "SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status"
    url = settings.effective_database_url
    if settings.is_sqlite:
        import sqlite3
        from contextlib import closing

        with closing(sqlite3.connect(f"file:{url.split(':///', 1)[1]}?mode=ro", uri=True, timeout=5)) as conn:
            return [(c, st, n) for c, st, n in conn.execute(sql)]

    async def fetch() -> list[tuple[str, str, int]]:
        import asyncpg

        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=5)
        try:
            return [(r[0], r[1], r[2]) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


log = logging.getLogger("gatehouse.worker")


def load_channels(settings: Settings, db: Database) -> None:
    """Register the delivery channels: Gatehouse's own, then any plugins (modules that register
    channels on import, or offer `install(settings, db)`)."""
    from gatehouse.notifications.channel import install as install_mail
    from gatehouse.webhooks.channel import install as install_webhooks

    install_fanouts()
    install_mail(settings, db)
    install_webhooks(settings, db)
    for module in filter(None, (m.strip() for m in settings.worker_plugins.split(","))):
        loaded = importlib.import_module(module)
        if hasattr(loaded, "install"):
            loaded.install(settings, db)


def build_worker(settings: Settings, db: Database, storage: Storage,
                 busy: Callable[[], bool] | None = None) -> Worker:
    load_channels(settings, db)
    jobs = default_jobs(settings, storage) if settings.jobs_enabled else []
    if settings.jobs_enabled:  # mail's own job: the reminder the day before a visit (SPEC §15)
        from gatehouse.notifications.reminders import send_reminders
        from gatehouse.worker.jobs import Job

        jobs.append(Job("visit-reminders", settings.jobs_interval_seconds, send_reminders))
    return Worker(db, jobs=jobs, lease_seconds=settings.worker_lease_seconds,
                  concurrency=settings.worker_concurrency, poll_seconds=settings.worker_poll_seconds,
                  busy=busy, busy_rate=settings.worker_busy_rate, channels=worker_channels(settings))


class UnknownChannel(ValueError):
    pass


def worker_channels(settings: Settings) -> frozenset[str] | None:
    """GATEHOUSE_WORKER_CHANNELS as a set (None: all); a name no channel has is refused, since such a
    worker would silently deliver nothing."""
    named = frozenset(filter(None, (c.strip() for c in settings.worker_channels.split(","))))
    if not named:
        return None
    unknown = sorted(named - set(outbox.channels))
    if unknown:
        raise UnknownChannel(f"GATEHOUSE_WORKER_CHANNELS: no channel named {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(outbox.channels))})")
    return named


async def run_standalone(settings: Settings) -> None:
    """`gatehouse worker`: until SIGTERM/SIGINT, then finish or release what it holds."""
    db = Database(settings)
    storage = open_storage(settings.effective_storage_url)
    try:
        worker = build_worker(settings, db, storage)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        log.info("worker %s started (channels: %s)", worker.name,
                 ", ".join(sorted(worker.channels)) if worker.channels else "all")
        await worker.run()
        log.info("worker %s stopped", worker.name)
    finally:
        await storage.close()
        await db.dispose()
