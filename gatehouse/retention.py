"""Retention (SPEC §9), run by the worker. Tickets closed longer ago than
GATEHOUSE_PII_RETENTION_DAYS lose their personal data: names become `Redacted`; emails, phones,
notes, notification lists and comment texts are cleared; their attachments' files are deleted.
Ids, sites, dates, statuses and the event trail stay (events never hold PII). Events older than
GATEHOUSE_AUDIT_RETENTION_DAYS are purged. Both are safe with many workers (conditional updates,
idempotent deletes)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from gatehouse.attachments.models import Attachment, Blob
from gatehouse.attachments.repository import blob_is_referenced
from gatehouse.attachments.storage import Storage
from gatehouse.comments.models import Comment
from gatehouse.events import repository as events
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import Database, utcnow
from gatehouse.operators.models import VisitorPhoto

REDACTED = "Redacted"
BATCH = 200


async def anonymise_closed_tickets(db: Database, *, storage: Storage, days: int) -> int:
    done = 0
    cutoff = utcnow() - timedelta(days=days)
    while True:
        keys: list[str] = []
        async with db.write() as session:
            tickets = (await session.execute(
                select(WorkOrder).where(WorkOrder.anonymised_at.is_(None), WorkOrder.closed_at.is_not(None),
                                        WorkOrder.closed_at < cutoff).order_by(WorkOrder.closed_at).limit(BATCH)
            )).scalars().all()
            if not tickets:
                return done
            ids = [t.id for t in tickets]
            now = utcnow()
            for t in tickets:
                _, sep, rest = t.title.partition(" going to visit ")
                t.title = f"{REDACTED} {REDACTED}{sep}{rest}" if sep else REDACTED
                t.visitor_first_name = t.visitor_last_name = REDACTED
                t.host_first_name = t.host_last_name = REDACTED
                if t.escort_first_name or t.escort_last_name:
                    t.escort_first_name = t.escort_last_name = REDACTED
                t.visitor_email = t.visitor_phone = t.notes = t.email_notifications = ""
                t.host_email = ""
                t.identity_country = t.identity_last4 = t.identity_expiry = None  # the document's details
                t.anonymised_at = now
            await session.execute(update(Comment).where(Comment.work_order_id.in_(ids)).values(comment="")
                                  .execution_options(synchronize_session=False))
            await session.execute(delete(VisitorPhoto).where(VisitorPhoto.work_order_id.in_(ids)))
            files = (await session.execute(select(Attachment.id, Attachment.blob_id)
                                           .where(Attachment.work_order_id.in_(ids)))).all()
            if files:
                await session.execute(delete(Attachment).where(Attachment.id.in_([f.id for f in files])))
                for blob_id in {f.blob_id for f in files}:
                    if not await blob_is_referenced(session, blob_id):
                        blob = await session.get(Blob, blob_id)
                        if blob is not None:
                            keys.append(blob.storage_key)
                            await session.delete(blob)
        for key in keys:  # after the commit: a crash here leaves an unreferenced object, never a dangling record
            await storage.delete(key)
        done += len(tickets)


async def purge_old_events(db: Database, *, days: int) -> int:
    cutoff = utcnow() - timedelta(days=days)
    purged = 0
    while True:
        async with db.write() as session:
            n = await events.purge_before(session, cutoff)
        purged += n
        if n == 0:
            return purged


async def purge_old_notifications(db: Database) -> int:
    """The notifications polling API keeps 90 days (SPEC §13)."""
    from gatehouse.notifications.inbox import purge_old

    return await purge_old(db)
