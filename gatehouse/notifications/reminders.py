"""The reminder the day before a visit (SPEC §15): at 08:00 site time on the day before the badge
starts, the visitor of an approved visit gets one mail (their page's link and the calendar file),
through the outbox. Once: the claim is a conditional update in the mail's own transaction, so every
process may run the job at once and a crash sends it later, never twice."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit import context
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.sitetime import site_now
from gatehouse.kit.wire import fmt_iso_ms
from gatehouse.notifications.fanout import CHANNEL
from gatehouse.sites.models import Site
from gatehouse.worker.outbox import enqueue

REMIND_AT = time(8, 0)


def reminder_due(badge_start, here: datetime) -> bool:
    """From 08:00 on the day before the visit (site time) until the visit's day begins."""
    return datetime.combine(badge_start - timedelta(days=1), REMIND_AT) <= here < datetime.combine(badge_start,
                                                                                                 time(0, 0))


async def send_reminders(db: Database, *, now: datetime | None = None) -> int:
    """`now` (naive UTC): the job's clock, which a test may set."""
    context.current_actor.set(context.SYSTEM)
    now = now or utcnow()
    async with db.read() as session:
        rows = (await session.execute(
            select(WorkOrder, Site.timezone).join(Site, Site.code == WorkOrder.site_code)
            .where(WorkOrder.status == Status.APPROVED.value, WorkOrder.reminded_at.is_(None),
                   WorkOrder.badge_start <= (now + timedelta(days=2)).date(),
                   WorkOrder.badge_start >= (now - timedelta(days=1)).date()))).all()
    due = [t for t, tz in rows if lifecycle.issues_pass(t) and t.visitor_email and reminder_due(t.badge_start,
                                                                                                site_now(tz, now))]
    sent = 0
    for ticket in due:
        async with db.write() as session:
            claimed = await session.execute(update(WorkOrder).where(
                WorkOrder.id == ticket.id, WorkOrder.reminded_at.is_(None), WorkOrder.status == Status.APPROVED.value)
                .values(reminded_at=now).execution_options(synchronize_session=False))
            if affected(claimed) != 1:
                continue
            event = await events.record(session, "visit.reminded", object_id=ticket.id, account_id=ticket.account_id,
                                        site_code=ticket.site_code, at=now, data={"to": "visitor"})
            await enqueue(session, CHANNEL, {"kind": "visit_reminder", "to": ticket.visitor_email,
                                             "ticketId": ticket.id, "eventId": event.id, "at": fmt_iso_ms(now),
                                             "actor": "system", "status": ticket.status},
                          target=ticket.visitor_email, event_id=event.id)
            sent += 1
    return sent
