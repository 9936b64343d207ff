"""Periodic jobs, run by every worker. Each is safe to run in several workers at once
(conditional updates, SKIP LOCKED, idempotent deletes), so no leader election is needed."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gatehouse.kit import context
from gatehouse.kit.db import Database

log = logging.getLogger("gatehouse.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[Database], Awaitable[object]]


async def run_job_forever(db: Database, job: Job) -> None:
    # spread workers that start together, so they do not all hit the same rows at once
    context.current_actor.set(context.SYSTEM)
    await asyncio.sleep(random.uniform(0, min(1.0, job.every_seconds / 10)))
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
