"""The overstay job (SPEC §14): a visitor still checked in GATEHOUSE_OVERSTAY_GRACE_MINUTES after the
day's window ends gets one `access_ticket.overstayed` event per stay, which mails the notification
list and the site's operators (and reaches webhooks). The rule is the lifecycle's (`is_overstayed`);
the claim is a conditional update, so every process may run the job at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gatehouse.events import service as events
from gatehouse.facility_access import lifecycle, repository
from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit import context
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.sitetime import site_now
from gatehouse.sites.models import Site


async def report_overstays(db: Database, *, grace_minutes: int = 30) -> int:
    context.current_actor.set(context.SYSTEM)
    now = utcnow()
    grace = timedelta(minutes=grace_minutes)
    async with db.read() as session:
        stays = (await session.execute(
            select(WorkOrder, Site.timezone).join(Site, Site.code == WorkOrder.site_code)
            .where(WorkOrder.status == Status.IN_PROGRESS.value, WorkOrder.checked_in_at.is_not(None),
                   WorkOrder.overstay_reported_at.is_(None)))).all()
        due = []
        for ticket, timezone in stays:
            window = lifecycle.access_window(ticket, await repository.ticket_locations(session, ticket.id))
            if lifecycle.is_overstayed(ticket, site_now(timezone, now), window, grace):
                due.append((ticket, window))
    reported = 0
    for ticket, window in due:
        async with db.write() as session:
            claimed = await session.execute(update(WorkOrder).where(
                WorkOrder.id == ticket.id, WorkOrder.overstay_reported_at.is_(None),
                WorkOrder.checked_in_at == ticket.checked_in_at).values(overstay_reported_at=now)
                .execution_options(synchronize_session=False))
            if affected(claimed) != 1:
                continue  # reported by another process, or the visitor left meanwhile
            await events.record(session, "access_ticket.overstayed", object_id=ticket.id,
                                account_id=ticket.account_id, site_code=ticket.site_code, at=now,
                                data={"requestType": ticket.request_type, "windowEnd": f"{window[1]:%H:%M}",
                                      "checkedInAt": f"{ticket.checked_in_at:%Y-%m-%dT%H:%M:%SZ}"})
            reported += 1
    return reported
