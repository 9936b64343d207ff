"""The hot read paths' own way to the database (SPEC §7): one SQLAlchemy Core statement per read,
written once in a repository and compiled once per dialect, run straight on the driver: no ORM
session or object graph.

Measured with wrk before this existed, a ticket detail spent most of its time in an ORM session and
three queries, each a thread hop through aiosqlite. Here, on SQLite, a read is a plain `sqlite3`
call on the event-loop thread: a point query in WAL mode takes tens of microseconds and never waits
for writers, which is cheaper than the hop to a worker thread. On PostgreSQL it is one `asyncpg`
pool, with its statement cache. Writes never come here."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Boolean, DateTime, Select, bindparam, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from gatehouse.config import Settings
from gatehouse.kit.connlost import is_connection_lost, waiting_connect

_COMPILED: dict[tuple[int, bool], tuple[str, tuple[str, ...], tuple[Any, ...], Any]] = {}


def compiled(stmt: Select, for_sqlite: bool) -> tuple[str, tuple[str, ...], tuple[Any, ...]]:
    """A Core SELECT written once (module constant, named `bindparam`s), compiled once per dialect:
    (SQL, parameter names in order, the converters its columns need from the raw driver)."""
    key = (id(stmt), for_sqlite)
    hit = _COMPILED.get(key)
    if hit is None:
        dialect = SQLiteDialect_pysqlite(paramstyle="qmark") if for_sqlite else PGDialect_asyncpg(
            paramstyle="numeric_dollar")
        c = stmt.compile(dialect=dialect)
        # sqlite3 hands back what SQLAlchemy stored: date-times as text, booleans as 0/1
        convert = tuple((_sqlite_datetime if isinstance(col.type, DateTime) else bool if isinstance(col.type, Boolean)
                         else None) if for_sqlite else None for col in stmt.selected_columns)
        hit = _COMPILED[key] = (str(c), tuple(c.positiontup or ()), convert, stmt)  # stmt kept: its id stays its own
    return hit[0], hit[1], hit[2]


def _sqlite_datetime(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class Rows(Protocol):
    """What a repository's statement runs on: the lean reader, an ORM session (`SessionRows`), or the
    lean writer's open transaction (`TxRows`). `cache_key` names the database (per-process copies)."""

    cache_key: str
    is_sqlite: bool

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]: ...

    async def get(self, model: Any, ident: Any) -> Any: ...


_BY_ID: dict[Any, Select] = {}


def by_id(model: Any) -> Select:
    """`SELECT <the model's columns> WHERE <its one primary key> = :ident`, built once per model."""
    stmt = _BY_ID.get(model)
    if stmt is None:
        table = model.__table__
        (pk,) = table.primary_key.columns
        stmt = _BY_ID[model] = select(table).where(pk == bindparam("ident"))
    return stmt


def _as_rows(is_sqlite: bool, stmt: Select, found: Sequence[Any]) -> list[dict[str, Any]]:
    keys = [str(c.key) for c in stmt.selected_columns]
    out = [dict(zip(keys, r, strict=True)) for r in found]
    if is_sqlite:  # only the columns that need it (a per-value comprehension was 15% of the desk page)
        for key, convert in zip(keys, compiled(stmt, True)[2], strict=True):
            if convert is not None:
                for row in out:
                    if row[key] is not None:
                        row[key] = convert(row[key])
    return out


class SessionRows:
    """`rows(stmt, **params)` over an ORM session: a repository's statement, written once, runs on
    the lean reader or inside a transaction alike."""

    def __init__(self, session: Any) -> None:
        self.session = session
        bind = session.get_bind()
        self.cache_key = str(bind.engine.url)
        self.is_sqlite = bind.dialect.name == "sqlite"

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in await self.session.execute(stmt, params)]

    async def get(self, model: Any, ident: Any) -> Any:
        return await self.session.get(model, ident)


class TxRows:
    """Reads inside the lean writer's open transaction (kit/leanwrite.py), on its own connection:
    sqlite3's (called on the event loop: the write lock is held, and a point read is microseconds)
    or asyncpg's."""

    def __init__(self, is_sqlite: bool, conn: Any, cache_key: str) -> None:
        self.is_sqlite = is_sqlite
        self.conn = conn
        self.cache_key = cache_key

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        sql, names, _convert = compiled(stmt, self.is_sqlite)
        args = [_sqlite_arg(params[n]) if self.is_sqlite else params[n] for n in names]
        found = self.conn.execute(sql, args).fetchall() if self.is_sqlite else await self.conn.fetch(sql, *args)
        return _as_rows(self.is_sqlite, stmt, found)

    async def get(self, model: Any, ident: Any) -> Any:
        found = await self.rows(by_id(model), ident=ident)
        return model(**found[0]) if found else None


def _sqlite_arg(value: Any) -> Any:
    # what SQLAlchemy's SQLite types store, so a bound date-time compares with the stored text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class LeanReader:
    def __init__(self, settings: Settings) -> None:
        self.is_sqlite = settings.is_sqlite
        self._url = settings.effective_database_url
        self.cache_key = self._url  # names the database for per-process copies (the watchlist)
        self._pool_size = settings.db_pool_size
        self._connect_wait = settings.db_connect_wait_seconds
        self._conn: sqlite3.Connection | None = None
        self._pool: Any = None
        self._pool_made: asyncio.Lock | None = None  # two first reads at once make one pool, not two

    def _sqlite(self) -> sqlite3.Connection:
        if self._conn is None:
            path = self._url.split(":///", 1)[1]
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        return self._conn

    async def pg_pool(self):
        """The asyncpg pool (also the lean writer's: each of its writes is one statement)."""
        if self._pool is None:
            import asyncpg

            if self._pool_made is None:
                self._pool_made = asyncio.Lock()
            async with self._pool_made:
                if self._pool is None:
                    dsn = self._url.replace("postgresql+asyncpg://", "postgresql://", 1)
                    self._pool = await asyncpg.create_pool(
                        dsn, min_size=1, max_size=self._pool_size, reset=_keep,
                        connect=waiting_connect(asyncpg.connect, self._connect_wait))
        return self._pool

    async def _fetch(self, sql: str, args: Sequence[Any]) -> Sequence[Any]:
        if self.is_sqlite:
            return self._sqlite().execute(sql, args).fetchall()
        pool = await self.pg_pool()
        try:
            return await pool.fetch(sql, *args)
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            # The server dropped our connections (restart, terminate): every idle one is stale too.
            # Replace them all, and read again once: a read is safe to repeat.
            await self.connections_lost()
            return await pool.fetch(sql, *args)

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        """A Core statement's rows as dicts, on the raw driver (no ORM, no thread hop on SQLite)."""
        sql, names, _convert = compiled(stmt, self.is_sqlite)
        args = [_sqlite_arg(params[n]) for n in names] if self.is_sqlite else [params[n] for n in names]
        found = await self._fetch(sql, args)
        return _as_rows(self.is_sqlite, stmt, found)

    async def get(self, model: Any, ident: Any) -> Any:
        """A transient instance of `model` (not in any session) with the row's values, or None."""
        found = await self.rows(by_id(model), ident=ident)
        return model(**found[0]) if found else None

    async def connections_lost(self) -> None:
        """Every connection of the pool is replaced at its next use (asyncpg's expire_connections)."""
        if self._pool is not None:
            await self._pool.expire_connections()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _keep(_conn) -> None:
    """The pool's reset on release: nothing to undo. These connections run single statements (the
    reads, and the lean writer's one-statement writes: no open transactions, LISTEN, SET or advisory
    locks), so asyncpg's default reset query would be one more
    round trip per request for no state (py-spy: ~5% of the detail path)."""
