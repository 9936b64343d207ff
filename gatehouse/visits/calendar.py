"""The visit in the visitor's calendar (SPEC §15): one event per location window, in the site's time
zone with its VTIMEZONE, the site's address as the location; a cancellation is the same UIDs with
METHOD:CANCEL. Built with the icalendar library."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event


def _at(day: str, clock: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock[:8]), tzinfo=zone)


def visit_calendar(ticket: dict, site: dict, *, cancel: bool = False, url: str = "") -> bytes:
    """`ticket`: the API's ticket shape; `site`: code, address, city, timezone."""
    zone = ZoneInfo(site["timezone"])
    cal = Calendar()
    cal.add("prodid", "-//Gatehouse//visitor access//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancel else "PUBLISH")
    where = ", ".join(x for x in (site.get("address"), site.get("city")) if x) or site["code"]
    for place in ticket["site"]:
        for loc in place["locations"]:
            event = Event()
            event.add("uid", f"{ticket['ticketId']}-{place['site']}-{loc['location']}@gatehouse".replace(" ", "_"))
            event.add("summary", f"Visit to {place['site']}: {loc['location']} ({ticket['ticketId']})")
            event.add("dtstart", _at(loc["accessStartDate"], loc.get("accessStartTime") or "00:00:00", zone))
            event.add("dtend", _at(loc["accessEndDate"], loc.get("accessEndTime") or "23:59:00", zone))
            event.add("dtstamp", datetime.now(ZoneInfo("UTC")))
            event.add("location", where)
            event.add("status", "CANCELLED" if cancel else "CONFIRMED")
            event.add("sequence", 1 if cancel else 0)
            escort = f"{ticket['escortFirstName']} {ticket['escortLastName']}".strip()
            event.add("description", f"Work order {ticket['ticketId']}. Host: {ticket['visitorHostFirstName']} "
                                     f"{ticket['visitorHostLastName']}, {ticket['hostCompany']}."
                                     + (f" Escort: {escort}." if escort else "") + (f" {url}" if url else ""))
            if url:
                event.add("url", url)
            cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
