"""Periodic jobs run inside every API process. Each job must be safe to run in several
processes at once (conditional updates / SKIP LOCKED), so no leader election is needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from datetime import timedelta
from functools import partial

from gatehouse.attachments.service import purge_expired_staged, sweep_pending_blobs
from gatehouse.attachments.storage import Storage
from gatehouse.auth.service import purge_expired_tokens
from gatehouse.facility_access.idempotency import purge_expired as purge_idempotency_keys
from gatehouse.operators.expiry import expire_tickets
from gatehouse.config import Settings
from gatehouse.kit.db import Database

log = logging.getLogger("gatehouse.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Database], Awaitable[object]]


def default_jobs(settings: Settings, storage: Storage) -> list[Job]:
    """The base interval is GATEHOUSE_JOBS_INTERVAL_SECONDS; slower jobs are multiples."""
    tick = settings.jobs_interval_seconds
    grace = timedelta(seconds=settings.pending_blob_grace_seconds)
    return [
        Job("expire-tickets", tick, expire_tickets),
        Job("purge-expired-tokens", tick * 60, purge_expired_tokens),
        Job("purge-idempotency-keys", tick * 60, purge_idempotency_keys),
        Job("purge-expired-staged-attachments", tick * 60, partial(purge_expired_staged, storage=storage)),
        Job("sweep-pending-blobs", min(tick * 60, grace.total_seconds() / 2),
            partial(sweep_pending_blobs, storage=storage, grace=grace)),
    ]


async def run_job_forever(db: Database, job: Job) -> None:
    while True:
        try:
            result = await job.run(db)
            if result:
                log.info("job %s: %s", job.name, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed; will retry", job.name)
        await asyncio.sleep(job.every_seconds)


def start_jobs(db: Database, jobs: list[Job]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(run_job_forever(db, job), name=f"job:{job.name}") for job in jobs]
