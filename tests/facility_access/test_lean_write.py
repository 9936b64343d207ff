"""One create path (issue 21): every create is written by the lean writer (kit/leanwrite.py), the
staged files' records and the events' planned rows read and written inside its transaction. A
create with a staged file and one without are compared table by table; an event recorded by the
ORM write path (a cancel) is planned by the same planners into the same kinds of rows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from gatehouse.attachments.models import Attachment
from gatehouse.events.models import Event
from gatehouse.facility_access.models import TicketCount, TicketEvent, WorkOrder, WorkOrderLocation
from gatehouse.kit.leanwrite import insert
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import request_for

API = "/v1/facility-access"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_insert_fills_constant_defaults_and_refuses_computed_ones():
    stmt = insert(OutboxMessage.__table__, {"channel": "mail", "next_attempt_at": 1, "created_at": 1,
                                            "updated_at": 1})
    assert stmt.sql.startswith("INSERT INTO outbox (")
    columns = stmt.sql.split("(", 1)[1].split(")", 1)[0].split(", ")
    assert "id" not in columns  # the database numbers it
    values = dict(zip(columns, stmt.args, strict=True))
    assert values["status"] == "pending" and values["attempts"] == 0 and values["payload"] == "{}"
    with pytest.raises(ValueError, match=r"ticket_events\.at: give a value"):
        insert(TicketEvent.__table__, {"work_order_id": "WO1", "actor": "a", "action": "create", "to_status": "x"})


async def _rows(db, wo: str) -> dict:  # type: ignore[no-untyped-def]
    skip = {"id", "work_order_id", "created_at", "updated_at", "at", "occurred_at", "next_attempt_at", "seq",
            "object_id", "event_id", "correlation_id"}

    def plain(obj) -> dict:  # type: ignore[no-untyped-def]
        return {c.name: getattr(obj, c.key) for c in obj.__table__.columns if c.name not in skip}

    async with db.read() as s:
        ticket = await s.get(WorkOrder, wo)
        locations = (await s.execute(select(WorkOrderLocation).where(WorkOrderLocation.work_order_id == wo))).scalars()
        history = (await s.execute(select(TicketEvent).where(TicketEvent.work_order_id == wo))).scalars()
        events = (await s.execute(select(Event).where(Event.object_id == wo, Event.type == "access_ticket.created"))
                  ).scalars().all()
        outbox = (await s.execute(select(OutboxMessage).where(OutboxMessage.event_id == events[0].id)
                                  .order_by(OutboxMessage.channel, OutboxMessage.target))).scalars()
        out = []
        for m in outbox:
            row = plain(m) | {"status": None, "attempts": None, "leased_by": None, "lease_until": None}
            payload = json.loads(row.pop("payload"))
            payload.pop("eventId", None), payload.pop("at", None), payload.pop("ticketId", None)
            if "body" in payload:  # a webhook: the ticket as GET shows it, at its own instant
                body = json.loads(payload.pop("body"))
                for key in ("ticketId", "ticketCreatedDate", "ticketUpdatedDate"):
                    body["data"].pop(key)
                payload["data"] = body["data"]
            out.append((row, payload))
        assert ticket is not None and ticket.created_at == ticket.updated_at
        return {"ticket": plain(ticket), "locations": [plain(x) for x in locations],
                "history": [plain(x) for x in history], "events": [plain(x) for x in events], "outbox": out}


async def test_creates_with_and_without_files_store_the_same_rows_by_one_path(factory, client, db, receivers):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    hook = await client.post("/v1/webhooks", json={"url": receivers().url, "eventTypes": ["*"]},
                             headers=caller.headers)
    assert hook.status_code == 201, hook.text
    body = request_for(tenant)
    plain = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert plain.status_code == 200, plain.text
    staged = await client.post("/v1/attachments/file", files={"uploadFile": ("scan.png", PNG)},
                               headers=caller.token_headers)
    assert staged.status_code == 201, staged.text
    with_file = {**body, "attachments": [{"id": staged.json()["attachmentId"], "name": "scan.png"}]}
    filed = await client.post(f"{API}/visitors/access-requests", json=[with_file], headers=caller.headers)
    assert filed.status_code == 200, filed.text
    a = await _rows(db, plain.json()["workOrder"][0]["workOrderId"])
    filed_id = filed.json()["workOrder"][0]["workOrderId"]
    b = await _rows(db, filed_id)
    assert a["outbox"] and {row["channel"] for row, _ in a["outbox"]} == {"mail", "webhook"}
    assert a == b
    async with db.read() as s:
        counted = (await s.execute(select(TicketCount.n).where(TicketCount.account_id == tenant.account_id))).scalars()
        assert sum(counted) == 2  # each create counted its ticket once
        files = (await s.execute(select(Attachment.filename).where(Attachment.work_order_id == filed_id))).all()
        assert [f for (f,) in files] == ["scan.png"]
    # the ORM write path: a cancel's event is planned by the same planners (its mail and webhook rows)
    cancelled = await client.put(f"{API}/access-tickets/{filed_id}/cancel", json={},
                                 headers=caller.headers)
    assert cancelled.status_code == 200, cancelled.text
    async with db.read() as s:
        event = (await s.execute(select(Event.id).where(Event.object_id == filed_id,
                                                         Event.type == "access_ticket.cancelled"))).scalar_one()
        channels = {c for (c,) in (await s.execute(select(OutboxMessage.channel).where(
            OutboxMessage.event_id == event))).all()}
    assert channels == {"mail", "webhook"}


def test_inserts_into_one_table_merge_in_order_and_others_stay_in_place():
    from gatehouse.kit.leanwrite import Statement, merged

    a1 = insert(WorkOrderLocation.__table__, {"work_order_id": "WO1", "location_id": 1, "location_name": "A",
                                               "access_start": 1, "access_end": 1})
    bump = Statement("UPDATE x SET n = n + ?", (1,))
    a2 = a1._replace(args=("WO1", 2, "B", *a1.args[3:]))  # the columns' defaults are filled in: same width
    out = merged([a1, bump, a2])
    assert [s.sql for s in out] == [a1.sql + ", (" + ", ".join("?" * len(a1.args)) + ")", bump.sql]
    assert out[0].args == a1.args + a2.args


async def test_reads_made_ahead_answer_as_the_reads_themselves(factory, client, db, is_postgres):
    """LeanReader.read_ahead: on PostgreSQL the reads go as one statement (each as JSON) and each
    answers its own later call once; the rows are those the read itself gives (dates, times and
    date-times parsed back), then the next call reads again. On SQLite each read is made when asked."""
    from gatehouse.accounts.repository import auto_approve_read
    from gatehouse.facility_access.repository import taken_read
    from gatehouse.kit import leanread
    from gatehouse.notifications.fanout import APPROVERS
    from gatehouse.sites.repository import granted_site_read
    from gatehouse.watchlist.screening import VERSION

    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    made = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant)], headers=caller.headers)
    assert made.status_code == 200, made.text
    wo = made.json()["workOrder"][0]["workOrderId"]
    async with db.read() as s:
        location_id = (await s.execute(select(WorkOrderLocation.id).where(WorkOrderLocation.work_order_id == wo))
                       ).scalars().first()
    reads = [*(granted_site_read(tenant.account_id, code) for code in sorted(tenant.sites)),
             auto_approve_read(tenant.account_id), taken_read([wo, "WO0000000"]),
             (leanread.by_id(WorkOrder), {"ident": wo}), (leanread.by_id(WorkOrderLocation), {"ident": location_id}),
             (APPROVERS, {"account_id": tenant.account_id}), (VERSION, {})]
    themselves = [await db.reader.rows(stmt, **params) for stmt, params in reads]
    assert themselves[0] and themselves[1] and [r["id"] for r in themselves[len(tenant.sites) + 1]] == [wo]
    async with db.reader.pinned():
        await db.reader.read_ahead(reads)
        pin = leanread._PINNED.get()
        assert (pin is not None and len(pin.answers) == len(reads)) if is_postgres else pin is None
        ahead = [await db.reader.rows(stmt, **params) for stmt, params in reads]
        assert pin is None or not pin.answers  # each answered once
        stmt, params = reads[-1]
        assert await db.reader.rows(stmt, **params) == themselves[-1]  # read again
    assert ahead == themselves
    ticket = ahead[len(tenant.sites) + 2][0]
    assert ticket["created_at"] == themselves[len(tenant.sites) + 2][0]["created_at"] and ticket["badge_start"]


async def test_answers_kept_until_the_database_changes(factory, client, db):
    """keptreads.until_change (the desk's roster): the same answer while nothing commits, a fresh one
    once anything does (here a cancel, through the API's write path, on another connection). The
    mark: SQLite's data_version, PostgreSQL's WAL insert position."""
    from gatehouse.kit import leanread
    from gatehouse.kit.keptreads import until_change

    kept = until_change(db.reader)
    assert until_change(db.reader) is kept  # one per reader: every screen shares its answers
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    made = await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant)], headers=caller.headers)
    wo = made.json()["workOrder"][0]["workOrderId"]
    stmt = leanread.by_id(WorkOrder)
    for _ in range(5):  # PostgreSQL: the cluster's other writes (autovacuum, a checkpoint) move the mark too
        first = await kept.rows(stmt, ident=wo)
        again = await kept.rows(stmt, ident=wo)
        if again is first:
            break
    assert again is first
    r = await client.put(f"{API}/access-tickets/{wo}/cancel", json={}, headers=caller.headers)
    assert r.status_code == 200, r.text
    after = await kept.rows(stmt, ident=wo)
    assert after[0]["status"] != first[0]["status"] and after == await db.reader.rows(stmt, ident=wo)
