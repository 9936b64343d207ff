"""A permanent badge holder's status (SPEC §13), read from the dates: no job has to move it. Part of
the lifecycle's rules (lifecycle.py re-exports it), kept apart for size."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum

NO_EXPIRY = date(9999, 12, 31)  # a permanent badge without an expiration date: its tickets never end


class HolderStatus(StrEnum):
    ACTIVE = "Active"
    PENDING = "Pending"
    EXPIRED = "Expired"
    TERMINATED = "Terminated"
    DEACTIVATED = "Deactivated"


def holder_status(terminated_on: date | None, deactivated: bool, expiration: date | None, today: date,
                  approved: bool, pending: bool) -> HolderStatus:
    """A badge holder's status, read from the dates (no job has to move it): terminated once the
    termination day is reached, deactivated by inactivity, expired after the expiration date, else
    active with an approved location, pending while a request waits (and, with none left, ended)."""
    if terminated_on is not None and terminated_on <= today:
        return HolderStatus.TERMINATED
    if deactivated:
        return HolderStatus.DEACTIVATED
    if expiration is not None and expiration < today:
        return HolderStatus.EXPIRED
    if approved:
        return HolderStatus.ACTIVE
    return HolderStatus.PENDING if pending else HolderStatus.TERMINATED


def inactive_badge_due(last_used: datetime, now: datetime, days: int) -> bool:
    """The worker deactivates a badge unused for `days` (its last check-in, else its activation)."""
    return now - last_used > timedelta(days=days)
