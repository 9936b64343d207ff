"""The hot write path's own way to the database (SPEC §7: create ≥ 5% of a bare endpoint): a
transaction whose rows are built in Python and sent straight to the driver.

Profiled with py-spy before this existed, a create through the ORM spent its time in the unit of
work (PostgreSQL: two thirds of the event loop) and, on SQLite, in a dozen aiosqlite thread hops,
each waiting for the busy event loop while the one write lock was held. Here, on SQLite, the
transaction is BEGIN IMMEDIATE, the change's reads on the event loop, then every insert and COMMIT
in ONE call on a worker thread, under the same in-process write lock as the ORM's writers; on
PostgreSQL the inserts are ONE statement (data-modifying CTEs) on the lean reader's asyncpg pool,
prepared once per shape by its statement cache, after the change's reads in the same transaction.
Inserts and upserts; an UPDATE only where the plan has read (and on PostgreSQL locked) its row in
the same transaction and decided there. Anything else that must update and decide stays on the ORM
path (`Database.write()`)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import FromClause, Integer, Table
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from gatehouse.config import Settings
from gatehouse.kit.connlost import is_connection_lost
from gatehouse.kit.leanread import LeanReader, TxRows

log = logging.getLogger(__name__)

# The channel PostgreSQL NOTIFYs when outbox rows commit (workers LISTEN on it): kit/db.py LISTENs,
# this module's one-statement writes notify in their SELECT.
OUTBOX_NOTIFY = "gatehouse_outbox"


class Database(Protocol):
    """What the writer needs of kit/db.py's Database (which owns a writer: no import back)."""

    settings: Settings
    is_sqlite: bool
    reader: LeanReader
    on_outbox_commit: list[Callable[[], None]]

    def write_lock(self) -> AbstractAsyncContextManager[None]: ...


class Statement(NamedTuple):
    sql: str  # with ? placeholders; rewritten to $1.. for PostgreSQL
    args: tuple[Any, ...]
    into: str = ""  # an insert's "INSERT INTO t (columns)": inserts with the same one are merged


# reads inside the writer's transaction -> (more statements, whether they queue outbox rows)
Plan = Callable[[TxRows], Awaitable[tuple[list[Statement], bool]]]


class Conflicted(Exception):
    """A unique or foreign key constraint refused a row (e.g. a random id that already exists)."""


@lru_cache(maxsize=64)
def _insert_sql(table: Table, columns: tuple[str, ...]) -> tuple[str, str]:
    into = f"INSERT INTO {table.name} ({', '.join(columns)})"
    return into, f"{into} VALUES ({', '.join('?' * len(columns))})"


def insert(model_table: FromClause, row: Mapping[str, Any]) -> Statement:
    """An INSERT of one row (into a model's `__table__`); columns left out get their model's constant
    default (a callable default must be given: `now` is the caller's, once per transaction)."""
    table = cast(Table, model_table)
    values = dict(row)
    for column in table.columns:
        if column.name in values or (column.primary_key and column.autoincrement is not False
                                       and isinstance(column.type, Integer)):  # the database numbers it
            continue
        default = column.default
        if isinstance(default, ScalarElementColumnDefault):
            values[column.name] = default.arg
        elif default is not None:
            raise ValueError(f"{table.name}.{column.name}: give a value (its default is computed)")
    into, sql = _insert_sql(table, tuple(values))
    return Statement(sql, tuple(values.values()), into)


def update(model_table: FromClause, values: Mapping[str, Any], where: Mapping[str, Any]) -> Statement:
    """An UPDATE of the rows whose columns equal `where` (a plan's decision: see the module's note)."""
    table = cast(Table, model_table)
    unknown = [k for k in (*values, *where) if k not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column {unknown[0]}")
    sets = ", ".join(f"{k} = ?" for k in values)
    matches = " AND ".join(f"{k} = ?" for k in where)
    return Statement(f"UPDATE {table.name} SET {sets} WHERE {matches}", (*values.values(), *where.values()))


def merged(statements: Sequence[Statement]) -> list[Statement]:
    """Inserts into the same table and columns as ONE multi-row INSERT, at the place of the first:
    fewer statements, and the rows keep their order (ids are numbered in VALUES order, which the
    reads' ORDER BY id relies on). Other statements stay where they are."""
    out: list[Statement] = []
    groups: dict[str, int] = {}
    for st in statements:
        if not st.into:
            out.append(st)
        elif st.into not in groups:
            groups[st.into] = len(out)
            out.append(st)
        else:
            i = groups[st.into]
            first = out[i]
            row = st.sql[len(st.into) + len(" VALUES "):]
            out[i] = Statement(f"{first.sql}, {row}", first.args + st.args, first.into)
    return out


def _combined(statements: Sequence[Statement], notify: str | None) -> tuple[str, list[Any]]:
    """PostgreSQL: every statement as one data-modifying CTE of ONE statement, so the whole change is
    one round trip and atomic without BEGIN/COMMIT (foreign keys are checked at its end, when every
    row is in)."""
    return _combined_sql(tuple(st.sql for st in statements), notify), [a for st in statements for a in st.args]


@lru_cache(maxsize=512)  # a write path's statements are the same text each time: numbered once
def _combined_sql(sqls: tuple[str, ...], notify: str | None) -> str:
    parts: list[str] = []
    n = 0
    for i, sql in enumerate(sqls):
        pieces = sql.split("?")
        parts.append(f"s{i} AS (" + "".join(
            p + (f"${n + k + 1}" if k < len(pieces) - 1 else "") for k, p in enumerate(pieces)) + ")")
        n += len(pieces) - 1
    tail = f"SELECT pg_notify('{notify}', '')" if notify else "SELECT 1"
    return f"WITH {', '.join(parts)} {tail}"


def _sqlite_value(value: Any) -> Any:
    # the strings SQLAlchemy's SQLite types store, so ORM and lean rows read back alike
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.%f")
    return value


async def _on_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn` on a worker thread, awaited to its end even if the caller is cancelled meanwhile: the
    connection and the write lock are not let go while the thread still uses them."""
    fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(fut)
            break
        except asyncio.CancelledError:
            if fut.done():
                raise
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
    return result


BUSY_TIMEOUT_MS = 30_000
CHECKPOINT_EVERY = 100  # commits of a few pages each: about SQLite's own 1000-page default


class LeanWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._url = db.settings.effective_database_url
        self._conn: sqlite3.Connection | None = None
        self._commits = 0
        self._checkpoint: asyncio.Future | None = None

    def _sqlite(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._url.split(":///", 1)[1], check_same_thread=False, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={BUSY_TIMEOUT_MS}",
                           "wal_autocheckpoint=0"):
                conn.execute(f"PRAGMA {pragma}")
            self._conn = conn
        return self._conn

    async def run(self, statements: Sequence[Statement], *, outbox: bool = False, plan: Plan | None = None,
                  begin_also: str = "") -> None:
        """All the statements in one transaction: committed together or not at all. `plan`, when
        given, is called inside that transaction with a reader of it (`TxRows`) and returns more
        statements and whether they queue outbox rows: who is told of a change is read in the
        change's own transaction (an endpoint or approver added meanwhile is not missed). `outbox`:
        the rows include outbox messages, so workers are woken (NOTIFY on PostgreSQL, in-process
        signal here) once it has committed. `begin_also` (PostgreSQL, with a plan): literal SQL with
        no parameters, sent with the BEGIN in the same round trip (a change's advisory locks)."""
        if self._db.is_sqlite:
            async with self._db.write_lock():
                queued = await self._run_sqlite(list(statements), plan)
        else:
            queued = await self._run_pg(list(statements), outbox, plan, begin_also)
        if outbox or queued:
            for wake in self._db.on_outbox_commit:
                wake()

    async def _run_sqlite(self, statements: list[Statement], plan: Plan | None) -> bool:
        conn = self._sqlite()
        queued = False
        await self._begin_sqlite(conn)
        try:
            if plan is not None:
                more, queued = await plan(TxRows(True, conn, self._db.reader.cache_key))
                statements += more
            # On the loop, in microseconds: a thread hop here held the write lock until the busy loop
            # came round again (creates +25%, bench.profile); no checkpoint runs in this COMMIT
            # (wal_autocheckpoint=0 on this connection): `_after_commit` has it done on a thread.
            self._execute_sqlite(conn, merged(statements))
        except BaseException as exc:
            if conn.in_transaction:
                await _on_thread(conn.execute, "ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                raise Conflicted(str(exc)) from exc
            raise
        self._after_commit()
        return queued

    def _after_commit(self) -> None:
        """Every CHECKPOINT_EVERY commits, a checkpoint on a thread (its own connection) in this
        process's turn at the writer: what SQLite's auto-checkpoint did inside a COMMIT, fsyncs and
        all, off the event loop. In the writer's turn so that no commit races it: it catches up with
        the whole WAL and the next writer starts the WAL from its beginning (run beside the commits,
        a checkpoint never caught up and the WAL grew without end: test_sqlite_checkpoint)."""
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and (self._checkpoint is None or self._checkpoint.done()):
            self._checkpoint = asyncio.ensure_future(self._checkpoint_in_turn())

    async def _checkpoint_in_turn(self) -> None:
        async with self._db.write_lock():
            await _on_thread(self._checkpoint_now)

    def _checkpoint_now(self) -> None:
        conn = sqlite3.connect(self._url.split(":///", 1)[1], isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError:
            log.warning("WAL checkpoint failed; the next one will retry", exc_info=True)
        finally:
            conn.close()

    @staticmethod
    async def _begin_sqlite(conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE on the event loop when no other process is writing (microseconds; a thread
        hop here kept this process's write lock held while the busy loop came round to it again);
        only when another process's writer holds the database, the wait for it goes to a thread."""
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            await _on_thread(conn.execute, "BEGIN IMMEDIATE")
        except asyncio.CancelledError:
            if conn.in_transaction:  # begun on the thread as the caller went: never left holding the lock
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _execute_sqlite(conn: sqlite3.Connection, statements: Sequence[Statement]) -> None:
        for sql, args, _into in statements:
            conn.execute(sql, tuple(_sqlite_value(a) for a in args))
        conn.execute("COMMIT")

    async def _run_pg(self, statements: list[Statement], outbox: bool, plan: Plan | None, begin_also: str) -> bool:
        import asyncpg

        pinned = self._db.reader.pinned_connection()
        queued = False
        try:
            if pinned is not None:
                queued = await self._in_pg(pinned, statements, outbox, plan, begin_also)
            else:
                async with self._db.reader.borrowed() as conn:
                    queued = await self._in_pg(conn, statements, outbox, plan, begin_also)
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise Conflicted(str(exc)) from exc
        except Exception as exc:
            if is_connection_lost(exc):  # not retried here: the middleware answers 503 + Retry-After
                await self._db.reader.connections_lost()
            raise
        return queued

    async def _in_pg(self, conn: Any, statements: list[Statement], outbox: bool, plan: Plan | None,
                     begin_also: str) -> bool:
        if plan is None:  # one statement: atomic without BEGIN/COMMIT, one round trip
            sql, args = _combined(merged(statements), OUTBOX_NOTIFY if outbox else None)
            await conn.execute(sql, *args)
            return False
        # BEGIN by hand, not conn.transaction(): the simple query protocol carries `begin_also` with it
        await conn.execute(f"BEGIN; {begin_also}" if begin_also else "BEGIN")
        try:
            more, queued = await plan(TxRows(False, conn, self._db.reader.cache_key))
            sql, args = _combined(merged(statements + more), OUTBOX_NOTIFY if outbox or queued else None)
            await conn.execute(sql, *args)
            await conn.execute("COMMIT")
        except BaseException:
            if not conn.is_closed() and conn.is_in_transaction():
                try:
                    await asyncio.shield(conn.execute("ROLLBACK"))
                except Exception:  # not given back to the pool mid-transaction
                    conn.terminate()
            raise
        return queued

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
