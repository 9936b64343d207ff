"""The reminder the day before a visit (SPEC §15; issue 24 in part): from 08:00 site time on the day
before, once, through the outbox, to the visitor of an approved visit."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gatehouse.notifications.reminders import reminder_due, send_reminders
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import request_for
from tests.notifications.test_mail import _settle, mailer, smtp  # noqa: F401

API = "/v1/facility-access"
ZONES = ["America/New_York", "Europe/Berlin", "Asia/Tokyo", "Pacific/Auckland", "America/Los_Angeles",
         "Asia/Kolkata", "Pacific/Honolulu", "Europe/London"]


def test_the_rule_at_its_edges():
    start = date(2026, 12, 10)
    assert not reminder_due(start, datetime(2026, 12, 9, 7, 59))
    assert reminder_due(start, datetime(2026, 12, 9, 8, 0))
    assert reminder_due(start, datetime(2026, 12, 9, 23, 59))
    assert not reminder_due(start, datetime(2026, 12, 10, 0, 0))  # the day itself: too late for "tomorrow"
    assert not reminder_due(start, datetime(2026, 12, 8, 12, 0))


def _dated(tenant, day: date) -> dict:  # type: ignore[no-untyped-def]
    body = request_for(tenant)
    for key in ("visitorBadgeStartDate", "visitorBadgeEndDate"):
        body[key] = day.isoformat()
    body["sites"][0]["locations"][0].update(accessStartDate=day.isoformat(), accessEndDate=day.isoformat())
    return body


async def test_the_visitor_is_reminded_once_the_day_before(client, factory, db, smtp, mailer):  # noqa: F811
    zone = next(z for z in ZONES if 8 <= datetime.now(UTC).astimezone(ZoneInfo(z)).hour <= 22)
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    tenant = await factory.tenant(timezone=zone)  # the factory's customers may approve: approved at once
    caller = next(iter(tenant.users.values()))
    made = []
    for day in (today + timedelta(days=1), today + timedelta(days=2)):
        body = _dated(tenant, day)
        body["visitors"][0]["visitorEmail"] = f"remind.{day.isoformat()}@guest.example"
        r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
        assert r.status_code == 200, r.text
        made.append(r.json()["workOrder"][0]["workOrderId"])
    tomorrow, later = made
    assert await send_reminders(db) >= 1
    assert await send_reminders(db) == 0 or True  # others' visits may fall due meanwhile; never this one again
    async with db.read() as s:
        rows = [json.loads(p) for p in (await s.execute(select(OutboxMessage.payload)
                                                        .where(OutboxMessage.channel == "mail"))).scalars()]
    reminders = [r for r in rows if r["kind"] == "visit_reminder"]
    assert [r["ticketId"] for r in reminders if r["ticketId"] in made] == [tomorrow]
    trail = (await client.get("/v1/audit-events", params={"objectId": tomorrow, "type": "visit.reminded"},
                              headers=caller.headers)).json()["content"]
    assert len(trail) == 1
    smtp.watch.add(tomorrow)
    await _settle(db, smtp, 2)  # the pass, then the reminder
    (mail,) = [m for m in smtp.messages if m["X-Gatehouse-Mail"] == "visit_reminder"]
    assert mail["Subject"].startswith("Tomorrow: your visit to") and tomorrow in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()
    assert "/visit/" + tomorrow in text and zone in text
    assert any(p.get_content_type() == "text/calendar" for p in mail.walk())


async def test_the_job_follows_the_sites_clock(client, factory, db):
    """The test's clock: 07:59 the day before in Tokyo sends nothing, 08:00 sends the reminder."""
    from sqlalchemy import select as sql_select

    from gatehouse.facility_access.models import WorkOrder

    tokyo = ZoneInfo("Asia/Tokyo")
    tenant = await factory.tenant(timezone="Asia/Tokyo")
    caller = next(iter(tenant.users.values()))
    start = datetime.now(UTC).astimezone(tokyo).date() + timedelta(days=3)
    body = _dated(tenant, start)
    body["visitors"][0]["visitorEmail"] = "clock@guest.example"
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]

    def utc(local: datetime) -> datetime:
        return local.replace(tzinfo=tokyo).astimezone(UTC).replace(tzinfo=None)

    day_before = start - timedelta(days=1)
    await send_reminders(db, now=utc(datetime.combine(day_before, datetime.min.time()).replace(hour=7, minute=59)))
    async with db.read() as s:
        assert (await s.execute(sql_select(WorkOrder.reminded_at).where(WorkOrder.id == wo))).scalar() is None
    await send_reminders(db, now=utc(datetime.combine(day_before, datetime.min.time()).replace(hour=8)))
    async with db.read() as s:
        assert (await s.execute(sql_select(WorkOrder.reminded_at).where(WorkOrder.id == wo))).scalar() is not None
