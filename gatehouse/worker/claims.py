"""The worker's claims, and its outcomes on SQLite. Which messages are due is one statement for both
databases (`due`). On SQLite, claims and outcomes go through the lean writer: on the event loop, in
one transaction, with no thread hop. Through an ORM session each of a write's five or so hops waited a
turn of the API process's busy event loop while SQLite's one writer stayed held, and the creates
waited behind it (the in-process worker took 23% of the demo's create rate, interleaved probes).
PostgreSQL claims in one ORM statement (`FOR UPDATE SKIP LOCKED`): no writer to hold there."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy import update as sa_update

from gatehouse.kit.db import Database
from gatehouse.kit.leanread import TxRows
from gatehouse.kit.leanwrite import Statement, insert, update
from gatehouse.worker.models import DeliveryAttempt, OutboxMessage

_CLAIM_COLUMNS = (OutboxMessage.id, OutboxMessage.channel, OutboxMessage.target, OutboxMessage.event_id,
                  OutboxMessage.payload, OutboxMessage.attempts)
_LEASE = ("UPDATE outbox SET lease_until = ?, leased_by = ?, attempts = attempts + 1, updated_at = ? "
          "WHERE id = ?")
# what of a batch's messages this worker still leases (a range, filtered by the caller: one statement)
_HELD = select(OutboxMessage.id).where(OutboxMessage.leased_by == bindparam("worker"),
                                       OutboxMessage.id.between(bindparam("lo"), bindparam("hi")))


@lru_cache(maxsize=32)
def due(channels: int) -> Select:
    """Due messages of `channels` channels (bound ch0..), oldest first: one statement per count, kept.
    LIMIT and OFFSET are both bound (`skip` is always 0): with a LIMIT alone, SQLite's compiler adds
    an OFFSET parameter of its own, which the lean reader's named parameters do not know. No name is a
    column's: PostgreSQL's claim runs it inside an UPDATE of the same table."""
    return (select(*_CLAIM_COLUMNS)
            .where(OutboxMessage.status == bindparam("due_status"), OutboxMessage.next_attempt_at <= bindparam("due_at"),
                   OutboxMessage.channel.in_([bindparam(f"ch{i}") for i in range(channels)]),
                   or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < bindparam("due_at")))
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(bindparam("n")).offset(bindparam("skip")))


def _due_params(known: Sequence[str], now: datetime, n: int) -> dict[str, Any]:
    return {"due_status": "pending", "due_at": now, "n": n, "skip": 0, **{f"ch{i}": c for i, c in enumerate(known)}}


async def claim(db: Database, known: Sequence[str], n: int, now: datetime, lease_until: datetime,
                worker: str) -> list[dict[str, Any]]:
    """Lease up to `n` due messages to `worker`; their rows, `attempts` counting this one."""
    if not db.is_sqlite:
        return await _claim_skip_locked(db, known, n, now, lease_until, worker)
    stmt = due(len(known))
    if not await db.reader.rows(stmt, **_due_params(known, now, 1)):
        return []  # most polls find nothing: no write transaction for them
    found: list[dict[str, Any]] = []

    async def plan(tx: TxRows) -> tuple[list[Statement], bool]:
        found[:] = await tx.rows(stmt, **_due_params(known, now, n))  # under the write lock: no one else claims
        return [Statement(_LEASE, (lease_until, worker, now, r["id"])) for r in found], False

    await db.lean.run([], plan=plan)
    return [{**r, "attempts": r["attempts"] + 1} for r in found]


async def _claim_skip_locked(db: Database, known: Sequence[str], n: int, now: datetime, lease_until: datetime,
                             worker: str) -> list[dict[str, Any]]:
    """PostgreSQL: one statement; concurrent workers skip each other's rows instead of waiting."""
    chosen = due(len(known)).with_only_columns(OutboxMessage.id).with_for_update(skip_locked=True)
    async with db.write() as session:
        rows = (await session.execute(
            sa_update(OutboxMessage).where(OutboxMessage.id.in_(chosen.scalar_subquery()))
            .values(lease_until=lease_until, leased_by=worker, attempts=OutboxMessage.attempts + 1, updated_at=now)
            .returning(*_CLAIM_COLUMNS).execution_options(synchronize_session=False),
            _due_params(known, now, n))).mappings().all()
    return [dict(r) for r in rows]


async def record(db: Database, worker: str, attempts: list[dict[str, Any]],
                 decisions: list[tuple[int, dict[str, Any]]]) -> set[int]:
    """Every attempt, and each message's decision (id, values) where `worker` still holds its lease
    (one that lost it records its attempt but decides nothing). The ids decided."""
    held: set[int] = set()

    async def plan(tx: TxRows) -> tuple[list[Statement], bool]:
        ids = [mid for mid, _values in decisions]
        held.clear()
        if ids:
            held.update(r["id"] for r in await tx.rows(_HELD, worker=worker, lo=min(ids), hi=max(ids)))
        return [*(insert(DeliveryAttempt.__table__, a) for a in attempts),
                *(update(OutboxMessage.__table__, values, {"id": mid, "leased_by": worker})
                  for mid, values in decisions if mid in held)], False

    await db.lean.run([], plan=plan)
    return held & {mid for mid, _values in decisions}
