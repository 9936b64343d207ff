"""Retention (SPEC §9): closed tickets past GATEHOUSE_PII_RETENTION_DAYS lose their PII (files too);
ids, dates, statuses and the trail stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from gatehouse.attachments.models import Attachment
from gatehouse.events.models import Event
from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.db import utcnow
from gatehouse.retention import anonymise_closed_tickets
from tests.factories import make_ticket


async def test_closed_tickets_are_anonymised_after_the_retention_period(client, factory, db, app):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    old = await make_ticket(db, tenant)
    recent = await make_ticket(db, tenant)
    assert (await client.post("/v1/comments", json={"requestId": old, "comment": "Jake arrives at 9"},
                              headers=caller.headers)).status_code == 200
    r = await client.post("/v1/attachments", params={"requestId": old, "file_name": "id.pdf"},
                          files={"file": ("id.pdf", b"%PDF-1.4 passport scan")}, headers=caller.headers)
    assert r.status_code == 200
    for wo in (old, recent):
        assert (await client.put(f"/v1/facility-access/access-tickets/{wo}/cancel", json={},
                                 headers=caller.headers)).status_code == 200
    async with db.write() as s:
        await s.execute(update(WorkOrder).where(WorkOrder.id == old).values(closed_at=utcnow() - timedelta(days=400)))
        events_before = (await s.execute(select(Event.id).where(Event.object_id == old))).scalars().all()
    assert await anonymise_closed_tickets(db, storage=app.state.storage, days=365) >= 1
    r = await client.get(f"/v1/facility-access/access-tickets/{old}", headers=caller.headers)
    body = r.json()
    assert body["contactFirstName"] == "Redacted" and body["contactEmail"] == "" and body["notes"] == ""
    assert body["description"].startswith("Redacted Redacted going to visit")
    assert body["ticketStatus"] == "Cancelled" and body["comments"][0]["comment"] == ""
    assert (await client.get(f"/v1/attachments/{old}", headers=caller.headers)).json() == []
    untouched = (await client.get(f"/v1/facility-access/access-tickets/{recent}", headers=caller.headers)).json()
    assert untouched["contactFirstName"] != "Redacted"
    async with db.read() as s:
        assert (await s.execute(select(Event.id).where(Event.object_id == old))).scalars().all() == events_before
        assert not (await s.execute(select(Attachment.id).where(Attachment.work_order_id == old))).first()
    assert await anonymise_closed_tickets(db, storage=app.state.storage, days=365) == 0  # idempotent
