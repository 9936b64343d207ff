"""Which periodic jobs a worker runs, and how often. The jobs themselves live in their domains
(facility_access/expiry.py, attachments, auth, retention); this is where they are put on a clock."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from gatehouse.attachments.service import purge_expired_staged, sweep_pending_blobs
from gatehouse.attachments.storage import Storage
from gatehouse.auth.service import purge_expired_tokens
from gatehouse.config import Settings
from gatehouse.facility_access.badges import deactivate_unused
from gatehouse.facility_access.bulk import purge_old_imports
from gatehouse.facility_access.expiry import expire_tickets
from gatehouse.facility_access.idempotency import purge_expired as purge_idempotency_keys
from gatehouse.facility_access.overstay import report_overstays
from gatehouse.retention import anonymise_closed_tickets, purge_old_events, purge_old_notifications
from gatehouse.worker.jobs import Job


def default_jobs(settings: Settings, storage: Storage) -> list[Job]:
    """The base interval is GATEHOUSE_JOBS_INTERVAL_SECONDS; slower jobs are multiples."""
    tick = settings.jobs_interval_seconds
    grace = timedelta(seconds=settings.pending_blob_grace_seconds)
    jobs = [
        Job("expire-tickets", tick, expire_tickets),
        Job("report-overstays", tick, partial(report_overstays, grace_minutes=settings.overstay_grace_minutes)),
        Job("purge-expired-tokens", tick * 60, purge_expired_tokens),
        Job("purge-idempotency-keys", tick * 60, purge_idempotency_keys),
        Job("purge-bulk-imports", tick * 60, purge_old_imports),
        Job("purge-old-notifications", tick * 60, purge_old_notifications),
        Job("purge-expired-staged-attachments", tick * 60, partial(purge_expired_staged, storage=storage)),
        Job("sweep-pending-blobs", min(tick * 60, grace.total_seconds() / 2),
            partial(sweep_pending_blobs, storage=storage, grace=grace)),
    ]
    if settings.pii_retention_days:
        jobs.append(Job("anonymise-closed-tickets", tick * 60,
                        partial(anonymise_closed_tickets, storage=storage, days=settings.pii_retention_days)))
    if settings.badge_inactivity_days:
        jobs.append(Job("deactivate-unused-badges", tick * 60,
                        partial(deactivate_unused, days=settings.badge_inactivity_days)))
    if settings.audit_retention_days:
        jobs.append(Job("purge-old-events", tick * 60, partial(purge_old_events, days=settings.audit_retention_days)))
    return jobs
