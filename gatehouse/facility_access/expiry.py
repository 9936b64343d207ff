"""The end-of-badge job (SPEC §3): at 00:00 site time after the badge end date, Approved and
In Progress tickets are Completed and Pending Approval ones Cancelled (reason `Request no longer
needed`), by `system`.

Safe in every process at once: candidates are found per site with that site's own "today", then
moved in batches of BATCH per transaction (locked with SKIP LOCKED on PostgreSQL); the state
machine's conditional UPDATE turns a lost race into a Conflict that is skipped. A tick with
nothing to do only reads, so it never takes SQLite's write lock."""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit import context
from gatehouse.kit.db import Database, utcnow
from gatehouse.kit.errors import Conflict
from gatehouse.kit.sitetime import site_today
from gatehouse.sites.models import Site

log = logging.getLogger("gatehouse.jobs")

BATCH = 500
MAX_RETRIES = 5
EXPIRING = sorted(s.value for s in lifecycle.OPEN)  # lifecycle.end_of_badge_due, as a query
SYSTEM = "system"
EXPIRED_REASON = lifecycle.EXPIRE_CANCEL_REASON


def _candidates(code: str, today: date, batch: int):
    return (select(WorkOrder).where(WorkOrder.site_code == code, WorkOrder.status.in_(EXPIRING),
                                    WorkOrder.badge_end < today)
            .order_by(WorkOrder.badge_end, WorkOrder.id).limit(batch))


async def expire_tickets(db: Database, *, batch: int = BATCH) -> int:
    """Run once over every site; returns how many tickets this call moved."""
    context.current_actor.set(context.SYSTEM)  # whoever triggers it, the job acts as `system`
    moved = 0
    now = utcnow()
    async with db.read() as session:
        sites = (await session.execute(select(Site.code, Site.timezone).order_by(Site.code))).all()
    for code, timezone in sites:
        today = site_today(timezone, now)
        retries = 0
        while True:
            async with db.read() as session:  # cheap check first: most ticks find nothing
                if (await session.execute(_candidates(code, today, 1).with_only_columns(WorkOrder.id))).first() is None:
                    break
            try:
                found, n = await _expire_batch(db, code, today, batch)
            except DBAPIError as exc:
                if not _retryable(exc) or retries >= MAX_RETRIES:
                    raise
                retries += 1  # the whole batch rolled back; take it again
                log.info("expire-tickets: %s at %s, retrying", type(exc.orig).__name__, code)
                await asyncio.sleep(0.05 * retries)
                continue
            moved += n
            if found < batch:
                break
    return moved


async def _expire_batch(db: Database, code: str, today: date, batch: int) -> tuple[int, int]:
    """One transaction: up to `batch` candidates, locked (skipping rows another process holds),
    moved one by one, counters written once at the end in key order."""
    moved = 0
    async with db.write() as session:
        found = (await session.execute(_candidates(code, today, batch).with_for_update(skip_locked=True))
                 ).scalars().all()
        counts = lifecycle.CountDeltas()
        for ticket in found:
            changes = {"cancel_reason": EXPIRED_REASON} if ticket.status == Status.PENDING else None
            try:
                await lifecycle.apply(session, ticket, Action.EXPIRE, actor=SYSTEM, actor_user_id=None,
                                      note="badge end date passed", changes=changes, counts=counts)
                moved += 1
            except Conflict:
                continue  # another process or a user moved it first
        await counts.flush(session)
    return len(found), moved


def _retryable(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or a busy SQLite database."""
    text = str(exc.orig).lower()
    return (getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)) in ("40P01", "40001") \
        or "deadlock detected" in text or "could not serialize" in text or "database is locked" in text
