"""The list counters (`ticket_counts`): per-(account, site, status, requester) ticket counts, kept in
the transaction of every create and status change (the lifecycle's `apply` and `record_created`),
so a list's totalElements never needs a scan. Plumbing of the lifecycle, not a rule.

Each count is spread over SHARDS rows (the reads sum them), and a transaction bumps one of them,
drawn at random. One row per count made every create of an account wait for the previous one's
COMMIT (its row lock is held until then, WAL flush included): on PostgreSQL the creates of one
account went one at a time through their commits (sampled: a quarter of the backends waiting
on that lock under load)."""

from __future__ import annotations

import secrets
from collections import defaultdict

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from gatehouse.facility_access.models import WorkOrder
from gatehouse.kit.leanwrite import Statement


class CountDeltas:
    """Counter changes written in one fixed order (sorted by key), so that transactions moving
    tickets concurrently (several job processes, the job and a user) lock the counter rows in
    the same order and cannot deadlock on them."""

    def __init__(self) -> None:
        self._deltas: dict[tuple[str, str, str, str], int] = defaultdict(int)
        self.shard = _shard()  # all of this transaction's bumps: rows locked in key order within it

    def add(self, ticket: WorkOrder, status: str, delta: int) -> None:
        self._deltas[(ticket.account_id, ticket.site_code, status, ticket.requester)] += delta

    async def flush(self, session: AsyncSession) -> None:
        for key in sorted(self._deltas):
            if self._deltas[key]:
                await _bump(session, *key, self._deltas[key], self.shard)
        self._deltas.clear()

    def statements(self) -> list[Statement]:
        """The same changes for the lean write path (kit/leanwrite.py), in the same order."""
        out = [Statement(_BUMP_LEAN, (*key, self.shard, self._deltas[key])) for key in sorted(self._deltas)
               if self._deltas[key]]
        self._deltas.clear()
        return out

    def flush_sync(self, session: Session) -> None:
        for key in sorted(self._deltas):
            if self._deltas[key]:
                session.execute(_BUMP_ORM, _params(*key, self._deltas[key], self.shard))
        self._deltas.clear()


SHARDS = 8


def _shard() -> int:
    return secrets.randbelow(SHARDS)


# One statement for both write paths (the ORM session's and the lean writer's), the same text on
# SQLite and PostgreSQL; only the placeholders differ.
_COLUMNS = ("account_id", "site_code", "status", "requester", "shard", "n")
_BUMP_SQL = ("INSERT INTO ticket_counts (account_id, site_code, status, requester, shard, n) VALUES ({}) "
             "ON CONFLICT (account_id, site_code, status, requester, shard) DO UPDATE SET n = ticket_counts.n + excluded.n")
_BUMP_LEAN = _BUMP_SQL.format(", ".join("?" for _ in _COLUMNS))
_BUMP_ORM = text(_BUMP_SQL.format(", ".join(f":{c}" for c in _COLUMNS)))


def _params(account_id: str, site_code: str, status: str, requester: str, delta: int, shard: int) -> dict:
    return dict(zip(_COLUMNS, (account_id, site_code, status, requester, shard, delta), strict=True))


def pending_counts(session: AsyncSession) -> CountDeltas:
    """The transaction's counter changes, written just before it commits (below). A counter row
    is shared by every ticket of an account, site, status and requester: updated early, its row
    lock would serialise concurrent creates for the whole rest of their transactions (PostgreSQL)."""
    return session.info.setdefault("count_deltas", CountDeltas())


@event.listens_for(Session, "before_commit")
def _write_pending_counts(session: Session) -> None:
    deltas = session.info.pop("count_deltas", None)
    if deltas is not None:
        deltas.flush_sync(session)  # runs inside the AsyncSession's greenlet: sync calls are fine here


async def bump_count(session: AsyncSession, ticket: WorkOrder, status: str, delta: int) -> None:
    await _bump(session, ticket.account_id, ticket.site_code, status, ticket.requester, delta, _shard())


async def _bump(session: AsyncSession, account_id: str, site_code: str, status: str, requester: str,
                delta: int, shard: int) -> None:
    await session.execute(_BUMP_ORM, _params(account_id, site_code, status, requester, delta, shard))
