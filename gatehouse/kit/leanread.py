"""The hot read paths' own way to the database (SPEC §7): one SQLAlchemy Core statement per read,
written once in a repository and compiled once per dialect, run straight on the driver: no ORM
session or object graph. On SQLite a read is a plain `sqlite3` call on the event-loop thread (a
point query in WAL mode takes tens of microseconds and never waits for writers: cheaper than a hop
to aiosqlite's thread); on PostgreSQL one `asyncpg` pool, with its statement cache. No writes.

The create is CPU-bound in its process, and on PostgreSQL each round trip cost it about as much as
its own Python work (asyncpg, measured: 145 us of CPU a query, 95 us more for the pool's acquire and
release). So the reader keeps the connections it takes between uses (`borrowed`), a task may hold
one for its reads and its write (`pinned`), and reads it knows it will need go in one statement
(`many`, `read_ahead`): 11 round trips a create became 5."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from typing import Any, Protocol

from sqlalchemy import Boolean, Date, DateTime, Select, Time, bindparam, select
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

    async def many(self, reads: Sequence[tuple[Select, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        if self.is_sqlite or len(reads) < 2:  # microseconds on the loop each: nothing to save
            return [await self.rows(stmt, **params) for stmt, params in reads]
        return await many_pg(self.conn, reads)


async def many_pg(conn: Any, reads: Sequence[tuple[Select, dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Several statements' rows in ONE round trip on PostgreSQL, each as a JSON array in a column of
    one SELECT."""
    stmts = tuple(stmt for stmt, _params in reads)
    sql, names, parsers = _as_one(tuple(id(stmt) for stmt in stmts), stmts)
    row = await conn.fetchrow(sql, *[params[n] for (_stmt, params), ns in zip(reads, names, strict=True) for n in ns])
    return [_from_json(keys, parse, row[i]) for i, (keys, parse) in enumerate(parsers)]


_PLACEHOLDER = re.compile(r"\$(\d+)")


_ONE: dict[tuple[int, ...], tuple[str, tuple[tuple[str, ...], ...], tuple[Any, ...], tuple[Select, ...]]] = {}


def _as_one(shape: tuple[int, ...], stmts: tuple[Select, ...]) -> tuple[
        str, tuple[tuple[str, ...], ...], tuple[tuple[list[str], list[Any]], ...]]:
    """The combined SELECT of these statements (placeholders renumbered across them), each one's
    parameter names, and how each one's rows come back from JSON: built once per `shape` (the
    statements' ids: they are module constants, as for `compiled`)."""
    hit = _ONE.get(shape)
    if hit is None:
        columns: list[str] = []
        names: list[tuple[str, ...]] = []
        offset = 0
        for i, stmt in enumerate(stmts):
            sql, ns, _convert = compiled(stmt, False)
            sql = _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)  # noqa: B023 (used at once)
            columns.append(f"(SELECT coalesce(json_agg(q), '[]'::json) FROM ({sql}) AS q) AS r{i}")
            names.append(ns)
            offset += len(ns)
        # keys by position (`json` keeps the columns' order); date-times, dates and times parsed
        # again (JSON has none)
        parsers = tuple(([str(c.key) for c in stmt.selected_columns],
                         [datetime.fromisoformat if isinstance(c.type, DateTime) else date.fromisoformat
                          if isinstance(c.type, Date) else time.fromisoformat if isinstance(c.type, Time) else None
                          for c in stmt.selected_columns]) for stmt in stmts)
        hit = _ONE[shape] = ("SELECT " + ", ".join(columns), tuple(names), parsers, stmts)  # stmts: ids stay theirs
    return hit[0], hit[1], hit[2]


def _from_json(keys: list[str], parse: list[Any], text: str) -> list[dict[str, Any]]:
    out = []
    for obj in json.loads(text):
        values = [v if f is None or v is None else f(v) for f, v in zip(parse, obj.values(), strict=True)]
        out.append(dict(zip(keys, values, strict=True)))
    return out


def _sqlite_arg(value: Any) -> Any:
    # what SQLAlchemy's SQLite types store, so a bound date-time compares with the stored text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def read_key(stmt: Select, params: dict[str, Any]) -> tuple[int, tuple[tuple[str, Any], ...]]:
    """A read's identity: the statement (written once, so its id) and its parameters."""
    return id(stmt), tuple(sorted(params.items()))


class AheadRows:
    """A reader that answers the reads made ahead (`many`), each once, and makes the rest."""

    def __init__(self, rows: Any, answers: dict[Any, list[dict[str, Any]]]) -> None:
        self._rows = rows
        self._answers = answers
        self.cache_key = rows.cache_key
        self.is_sqlite = rows.is_sqlite

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        found = self._answers.pop(read_key(stmt, params), None)
        return found if found is not None else await self._rows.rows(stmt, **params)

    async def get(self, model: Any, ident: Any) -> Any:
        return await self._rows.get(model, ident)


class _Pin:
    """The connection a task holds for its reads and its write in turn (`LeanReader.pinned`), and
    the answers of the reads it made ahead (`LeanReader.read_ahead`)."""

    def __init__(self, reader: LeanReader, conn: Any) -> None:
        self.reader = reader
        self.conn = conn
        self.answers: dict[Any, list[dict[str, Any]]] = {}


_PINNED: ContextVar[_Pin | None] = ContextVar("gatehouse_pinned_connection", default=None)


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
        self._kept: list[Any] = []  # out of the pool between uses: its acquire and release cost 95 us
        self._waiting = 0  # tasks waiting in the pool's acquire: a connection given back goes to them
        self._closing = False

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

    @asynccontextmanager
    async def borrowed(self) -> AsyncIterator[Any]:
        """PostgreSQL: a connection for one use (a read, or the lean writer's transaction), taken from
        those kept or from the pool, and kept again after a clean use. Every use of the pool goes
        through here, so a connection kept is never one another task waits for."""
        conn = await self._take()
        clean = False
        try:
            yield conn
            clean = True
        finally:
            await self._give(conn, clean)

    async def _take(self) -> Any:
        if self._kept:
            return self._kept.pop()
        pool = await self.pg_pool()
        self._waiting += 1
        try:
            return await pool.acquire()
        finally:
            self._waiting -= 1

    async def _give(self, conn: Any, clean: bool) -> None:
        # after an error, a cancel or mid-transaction, the pool decides (it closes what is broken)
        if clean and not self._closing and not self._waiting and not conn.is_closed() and not conn.is_in_transaction():
            self._kept.append(conn)
            return
        if self._pool is not None:
            await self._pool.release(conn)

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[None]:
        """PostgreSQL: one connection for every read of this task and the lean writer's transaction
        after them (the create: four reads and a write). Nested: the outer one holds."""
        pin = _PINNED.get()
        if self.is_sqlite or (pin is not None and pin.reader is self):
            yield
            return
        pin = _Pin(self, await self._take())
        token = _PINNED.set(pin)
        clean = False
        try:
            yield
            clean = True
        finally:
            _PINNED.reset(token)
            await self._give(pin.conn, clean)  # `_on_pin` may have replaced the one taken

    async def read_ahead(self, reads: Sequence[tuple[Select, dict[str, Any]]]) -> None:
        """Inside `pinned` on PostgreSQL: these reads in one round trip (`many`), each answered once
        to the `rows` call that makes it later; elsewhere nothing (each read is made when asked)."""
        pin = _PINNED.get()
        if self.is_sqlite or pin is None or pin.reader is not self or len(reads) < 2:
            return
        found = await self._on_pin(pin, lambda conn: many_pg(conn, reads))
        pin.answers.update((read_key(stmt, params), rows) for (stmt, params), rows in zip(reads, found, strict=True))

    async def _on_pin(self, pin: _Pin, call: Callable[[Any], Awaitable[Any]]) -> Any:
        """A read on the task's connection; lost (a restart, a terminate), read again once on a new
        one, which the task then keeps (as `_fetch` does for the pool's reads)."""
        try:
            return await call(pin.conn)
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            await self.connections_lost()
            await self._give(pin.conn, False)
            pin.conn = await self._take()
            return await call(pin.conn)

    def pinned_connection(self) -> Any:
        """The connection this task holds (`pinned`), or None."""
        pin = _PINNED.get()
        return pin.conn if pin is not None and pin.reader is self else None

    async def _fetch(self, sql: str, args: Sequence[Any]) -> Sequence[Any]:
        if self.is_sqlite:
            return self._sqlite().execute(sql, args).fetchall()
        pin = _PINNED.get()
        if pin is not None and pin.reader is self:
            return await self._on_pin(pin, lambda conn: conn.fetch(sql, *args))
        try:
            async with self.borrowed() as conn:
                return await conn.fetch(sql, *args)
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            # The server dropped our connections (restart, terminate): every idle one is stale too.
            # Replace them all, and read again once: a read is safe to repeat.
            await self.connections_lost()
            async with self.borrowed() as conn:
                return await conn.fetch(sql, *args)

    async def rows(self, stmt: Select, **params: Any) -> list[dict[str, Any]]:
        """A Core statement's rows as dicts, on the raw driver (no ORM, no thread hop on SQLite)."""
        pin = _PINNED.get()
        if pin is not None and pin.answers and pin.reader is self:
            answered = pin.answers.pop(read_key(stmt, params), None)
            if answered is not None:
                return answered
        sql, names, _convert = compiled(stmt, self.is_sqlite)
        args = [_sqlite_arg(params[n]) for n in names] if self.is_sqlite else [params[n] for n in names]
        found = await self._fetch(sql, args)
        return _as_rows(self.is_sqlite, stmt, found)

    async def mark(self) -> Any:
        """What moves whenever anything commits (`keptreads`): SQLite's `data_version` (it moves when
        another connection commits; this one never writes), PostgreSQL's WAL insert position; None
        where there is none (a standby)."""
        if self.is_sqlite:
            return self._sqlite().execute("PRAGMA data_version").fetchone()[0]
        try:
            return (await self._fetch("SELECT pg_current_wal_insert_lsn()::text", []))[0][0]
        except Exception as exc:
            if is_connection_lost(exc):
                raise
            return None

    async def get(self, model: Any, ident: Any) -> Any:
        """A transient instance of `model` (not in any session) with the row's values, or None."""
        found = await self.rows(by_id(model), ident=ident)
        return model(**found[0]) if found else None

    async def connections_lost(self) -> None:
        """Every connection of the pool is replaced at its next use (asyncpg's expire_connections);
        those kept go back to the pool first, which replaces them."""
        if self._pool is not None:
            await self._release_kept()
            await self._pool.expire_connections()

    async def _release_kept(self) -> None:
        kept, self._kept = self._kept, []
        for conn in kept:
            await self._pool.release(conn)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._pool is not None:
            self._closing = True  # from here a connection given back goes to the pool, which closes it
            await self._release_kept()
            await self._pool.close()
            self._pool = None
            self._closing = False


async def _keep(_conn) -> None:
    """The pool's reset on release: nothing to undo (no open transaction, LISTEN, SET or session
    lock is left on these connections); asyncpg's reset query was a round trip a request (~5%)."""
