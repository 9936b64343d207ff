"""The hot read paths' own way to the database (SPEC §7): one hand-written query per read, straight
to the driver, no ORM session or object graph.

Measured with wrk before this existed, a ticket detail spent most of its time in an ORM session and
three queries, each a thread hop through aiosqlite. Here, on SQLite, a read is a plain `sqlite3`
call on the event-loop thread: a point query in WAL mode takes tens of microseconds and never waits
for writers, which is cheaper than the hop to a worker thread. On PostgreSQL it is one `asyncpg`
pool, with its statement cache. Writes never come here."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from gatehouse.config import Settings
from gatehouse.kit.connlost import is_connection_lost


class LeanReader:
    def __init__(self, settings: Settings) -> None:
        self.is_sqlite = settings.is_sqlite
        self._url = settings.effective_database_url
        self._pool_size = settings.db_pool_size
        self._conn: sqlite3.Connection | None = None
        self._pool: Any = None

    def _sqlite(self) -> sqlite3.Connection:
        if self._conn is None:
            path = self._url.split(":///", 1)[1]
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        return self._conn

    async def pg_pool(self):  # type: ignore[no-untyped-def]
        """The asyncpg pool (also the lean writer's: each of its writes is one statement)."""
        if self._pool is None:
            import asyncpg

            dsn = self._url.replace("postgresql+asyncpg://", "postgresql://", 1)
            self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=self._pool_size, reset=_keep)
        return self._pool

    async def fetch(self, sqlite_sql: str, pg_sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
        if self.is_sqlite:
            return self._sqlite().execute(sqlite_sql, args).fetchall()
        pool = await self.pg_pool()
        try:
            return await pool.fetch(pg_sql, *args)
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            # The server dropped our connections (restart, terminate): every idle one is stale too.
            # Replace them all, and read again once: a read is safe to repeat.
            self.connections_lost()
            return await pool.fetch(pg_sql, *args)

    def connections_lost(self) -> None:
        if self._pool is not None:
            self._pool.expire_connections()

    async def fetchrow(self, sqlite_sql: str, pg_sql: str, *args: Any) -> Mapping[str, Any] | None:
        rows = await self.fetch(sqlite_sql, pg_sql, *args)
        return rows[0] if rows else None

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _keep(_conn) -> None:  # type: ignore[no-untyped-def]
    """The pool's reset on release: nothing to undo. These connections run single statements (the
    reads, and the lean writer's one-statement writes: no open transactions, LISTEN, SET or advisory
    locks), so asyncpg's default reset query would be one more
    round trip per request for no state (py-spy: ~5% of the detail path)."""
