"""The end-of-badge job (SPEC §3): at 00:00 site time after the badge end date, Approved and
In Progress tickets are Completed and Pending Approval ones Cancelled, by `system`.

Safe in every process at once: candidates are locked with SKIP LOCKED on PostgreSQL, and the
state machine's conditional UPDATE makes a lost race a no-op."""

from __future__ import annotations

from sqlalchemy import select

from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Action, Status
from gatehouse.facility_access.models import WorkOrder
from gatehouse.facility_access.service import site_today
from gatehouse.kit.db import Database
from gatehouse.kit.errors import Conflict
from gatehouse.sites.models import Site

BATCH = 500
EXPIRING = (Status.PENDING.value, Status.APPROVED.value, Status.IN_PROGRESS.value)
SYSTEM = "system"
EXPIRED_REASON = "Request no longer needed"


async def expire_tickets(db: Database) -> int:
    moved = 0
    async with db.read() as session:
        sites = (await session.execute(select(Site.code, Site.timezone))).all()
    for code, timezone in sites:
        today = site_today(timezone)
        while True:
            async with db.write() as session:
                batch = (await session.execute(
                    select(WorkOrder).where(WorkOrder.site_code == code, WorkOrder.status.in_(EXPIRING),
                                            WorkOrder.badge_end < today)
                    .order_by(WorkOrder.badge_end, WorkOrder.id).limit(BATCH).with_for_update(skip_locked=True)
                )).scalars().all()
                for ticket in batch:
                    changes = {"cancel_reason": EXPIRED_REASON} if ticket.status == Status.PENDING else None
                    try:
                        await lifecycle.apply(session, ticket, Action.EXPIRE, actor=SYSTEM, actor_user_id=None,
                                              note="badge end date passed", changes=changes)
                        moved += 1
                    except Conflict:
                        continue  # another process moved it first
            if len(batch) < BATCH:
                break
    return moved
