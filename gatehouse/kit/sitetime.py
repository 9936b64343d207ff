"""Times as a person reads them: in the site's time zone, with the zone named (SPEC §12). Stored
instants are naive UTC; wire strings are `yyyy-MM-dd HH:mm:ss` UTC (SPEC §1)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _instant(value: datetime | str) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local(value: datetime | str | None, tz: str | None, *, seconds: bool = False) -> str:
    """`2026-12-03 16:15 EST`: the instant in `tz` (UTC, named, when there is no site)."""
    if value in (None, ""):
        return ""
    at = _instant(value)
    if at is None:
        return str(value)
    here = at.astimezone(zone(tz or "UTC"))
    return here.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def day_span(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants (naive) from the start of `first` to the end of `last`, in site time."""
    z = zone(tz)
    start = datetime.combine(first, time.min, z).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(last + timedelta(days=1), time.min, z).astimezone(UTC).replace(tzinfo=None)
    return start, end


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def site_today(timezone: str, now: datetime | None = None) -> date:
    """Today's date at a site (`now`: naive UTC)."""
    return (now or _utcnow()).replace(tzinfo=UTC).astimezone(zone(timezone)).date()


def site_now(timezone: str, now: datetime | None = None) -> datetime:
    """The wall-clock time at a site, naive (`now`: naive UTC): what access windows are written in."""
    return (now or _utcnow()).replace(tzinfo=UTC).astimezone(zone(timezone)).replace(tzinfo=None)


def earliest_today(now: datetime | None = None) -> date:
    """The date in the last time zone to reach a new day (UTC-12): a date before it is past everywhere."""
    return ((now or _utcnow()) - timedelta(hours=12)).date()


def window_text(loc: dict, tz: str | None) -> str:
    """A location's access window as a person reads it: `2026-12-10 08:00 to 2026-12-12 17:00 EST`
    (site time, the zone named; the wire's dates and HH:mm:ss times)."""
    start_time = str(loc.get("accessStartTime") or "00:00")[:5]
    end_time = str(loc.get("accessEndTime") or "23:59")[:5]
    start, end = f"{loc['accessStartDate']} {start_time}", f"{loc['accessEndDate']} {end_time}"
    try:
        named = datetime.strptime(end, "%Y-%m-%d %H:%M").replace(tzinfo=zone(tz or "UTC")).strftime("%Z")
    except (ValueError, KeyError):
        named = tz or "UTC"
    return f"{start} to {end} {named}"
