"""The desk's visitor log (issue 20: 3, 13): a day is the site's day, times are site time with the
zone named, and cells a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import update

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from gatehouse.facility_access.models import TicketEvent
from gatehouse.kit.sitetime import site_today
from tests.console.signin import sign_in
from tests.facility_access.conftest import request_for

PASSWORD = "correct horse battery"


async def test_an_evening_check_in_is_in_that_site_day_and_formulas_are_escaped(client, factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    email = f"log.{site.lower()}@operator.example"
    async with db.write() as s:
        await accounts.set_email(s, op.name, email)
    await set_password(db, op.name, PASSWORD)
    body = request_for(tenant, start=0, end=0)
    body["visitors"][0].update(visitorFirstName="=cmd|'/c calc'!A0", visitorLastName="＝1+1")
    body["company"] = " =HYPERLINK(\"x\")"
    r = await client.post("/v1/facility-access/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    wo = r.json()["workOrder"][0]["workOrderId"]
    r = await client.put(f"/ops/v1/access-tickets/{wo}/check-in", json={"badgeNumber": "=1+1"}, headers=op.token_headers)
    assert r.status_code == 200, r.text
    # the check-in happened at 21:30 at the site today: already tomorrow in UTC
    ny = ZoneInfo("America/New_York")
    today = site_today("America/New_York")
    evening = datetime.combine(today, time(21, 30), ny).astimezone(UTC).replace(tzinfo=None)
    assert evening.date() != today
    async with db.write() as s:
        await s.execute(update(TicketEvent).where(TicketEvent.work_order_id == wo, TicketEvent.action == "check-in")
                        .values(at=evening))
    assert (await sign_in(client, email, PASSWORD)).status_code == 303
    r = await client.get("/console/desk/visitor-log.csv", params={"site": site, "from": today.isoformat(),
                                                                 "to": today.isoformat()})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][-3:] == ["checkedIn (America/New_York)", "checkedOut (America/New_York)", "bookedAccess"]
    (row,) = [x for x in rows[1:] if x[0] == wo]
    zone_name = evening.replace(tzinfo=UTC).astimezone(ny).strftime("%Z")
    assert row[6] == f"{today.isoformat()} 21:30:00 {zone_name}"
    assert f"{today.isoformat()} 00:00 to " in row[8] and row[8].endswith(f"23:59 {zone_name}")  # the booked window
    assert row[1] == "'=cmd|'/c calc'!A0 ＝1+1" and row[2] == "' =HYPERLINK(\"x\")" and row[5] == "'=1+1"
