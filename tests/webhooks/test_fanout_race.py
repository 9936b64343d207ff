"""Issue 21: who hears a change is read inside the change's transaction. An endpoint created in the
same instant as a ticket receives the ticket's `access_ticket.created` whenever the endpoint was
committed first.

What "first" means is read off the database itself: a thread takes snapshots as fast as it can
(one statement each: the account's endpoints and tickets as one instant saw them). A snapshot that
shows the endpoint but not the ticket proves the endpoint committed before the ticket, so the
ticket's create event is owed to it. The races are run until enough such pairs were caught."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

from sqlalchemy import select, update

from gatehouse.events.models import Event
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import request_for

API = "/v1/facility-access/visitors/access-requests"


class Snapshots(threading.Thread):
    """Snapshots of (endpoint ids, ticket ids) of one account on a connection of its own."""

    def __init__(self, settings, account_id: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(daemon=True)
        self.settings, self.account_id = settings, account_id
        self.stop = threading.Event()
        self._snaps: list[tuple[frozenset[str], frozenset[str]]] = []

    def run(self) -> None:
        url = self.settings.effective_database_url
        sql = ("SELECT (SELECT {agg}(id) FROM webhook_endpoints WHERE account_id = {p}) AS e, "
               "(SELECT {agg}(id) FROM work_orders WHERE account_id = {p}) AS t")
        if self.settings.is_sqlite:
            conn = sqlite3.connect(url.split(":///", 1)[1])
            q = sql.format(agg="group_concat", p="?")
            while not self.stop.is_set():
                e, t = conn.execute(q, (self.account_id, self.account_id)).fetchone()
                self._snaps.append((frozenset((e or "").split(",")) - {""}, frozenset((t or "").split(",")) - {""}))
            conn.close()
            return

        async def poll() -> None:
            import asyncpg

            conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
            q = sql.format(agg="array_agg", p="$1")
            while not self.stop.is_set():
                row = await conn.fetchrow(q, self.account_id)
                self._snaps.append((frozenset(row["e"] or ()), frozenset(row["t"] or ())))
            await conn.close()

        asyncio.run(poll())

    def owed_pairs(self, rounds: list[tuple[str, set[str]]]) -> set[tuple[str, str]]:
        """(endpoint, ticket) of one round where some instant saw the endpoint and not (yet) the
        ticket, which committed later (the endpoint is deleted after its round)."""
        out: set[tuple[str, str]] = set()
        for endpoints, seen in self._snaps:
            out |= {(e, t) for e, tickets in rounds if e in endpoints for t in tickets - seen}
        return out


async def test_an_endpoint_committed_before_a_create_hears_its_event(factory, client, db, settings, receivers):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    url = receivers().url
    snaps = Snapshots(settings, tenant.account_id)
    snaps.start()
    rounds: list[tuple[str, set[str]]] = []  # (the round's endpoint, the round's tickets)

    async def create(tickets: set[str]) -> None:
        r = await client.post(API, json=[request_for(tenant)], headers=caller.headers)
        assert r.status_code == 200, r.text
        tickets.update(w["workOrderId"] for w in r.json()["workOrder"])

    async def hook() -> str:
        r = await client.post("/v1/webhooks", json={"url": url, "eventTypes": ["access_ticket.created"]},
                              headers=caller.headers)
        assert r.status_code == 201, r.text
        return r.json()["webhookId"]

    try:
        deadline = time.monotonic() + 60
        while len(snaps.owed_pairs(rounds)) < 40 and time.monotonic() < deadline:
            tickets: set[str] = set()
            _, _, _, _, endpoint, *_ = await asyncio.gather(*[create(tickets) for _ in range(4)], hook(),
                                                            *[create(tickets) for _ in range(4)])
            rounds.append((endpoint, tickets))
            # at most 20 endpoints per account: this round's goes before the next (its queued rows stay)
            gone = await client.delete(f"/v1/webhooks/{endpoint}", headers=caller.headers)
            assert gone.status_code == 204, gone.text
    finally:
        snaps.stop.set()
        snaps.join(10)
    owed = snaps.owed_pairs(rounds)
    tickets = {t for _, ts in rounds for t in ts}
    endpoints = [e for e, _ in rounds]
    assert owed, f"no instant caught an endpoint before a ticket in {len(snaps._snaps)} snapshots"
    async with db.write() as s:
        created = dict((await s.execute(select(Event.object_id, Event.id).where(
            Event.type == "access_ticket.created", Event.object_id.in_(tickets)))).all())
        heard = set((await s.execute(select(OutboxMessage.target, OutboxMessage.event_id).where(
            OutboxMessage.channel == "webhook", OutboxMessage.target.in_(endpoints)))).all())
        # hundreds of mails and deliveries nobody will read: not left as a backlog for the worker of
        # the tests after this one (they time their own deliveries)
        await s.execute(update(OutboxMessage).where(OutboxMessage.event_id.in_(
            select(Event.id).where(Event.account_id == tenant.account_id))).values(status="dead"))
    missed = [(e, t) for e, t in owed if (e, created[t]) not in heard]
    assert not missed, f"{len(missed)} of {len(owed)} events owed to an endpoint never queued for it: {missed[:3]}"
