"""Engine, sessions and the declarative base shared by every domain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import CursorResult, MetaData, Result, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from gatehouse.config import Settings
from gatehouse.kit.connlost import waiting_connect
from gatehouse.kit.leanread import LeanReader
from gatehouse.kit.leanwrite import LeanWriter

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# PostgreSQL NOTIFY channel of commits that wrote outbox rows (workers LISTEN on it)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC at millisecond precision: the one representation every backend stores alike."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (`session.execute` types every result as the
    generic Result; these are cursor results)."""
    return cast("CursorResult[Any]", result).rowcount or 0


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_or_ignore(session: AsyncSession, model: Any, values: dict[str, Any]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the session's dialect: a row that one process makes and any
    other may be making at the same instant."""
    dialect = postgresql if dialect_of(session) == "postgresql" else sqlite
    return dialect.insert(model).values(values).on_conflict_do_nothing()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    import asyncpg

    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        # the dialect still builds the arguments from the URL; only the connect call waits
        connect_args={"async_creator_fn": waiting_connect(asyncpg.connect, settings.db_connect_wait_seconds)},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take transaction control from the driver so writes can BEGIN IMMEDIATE: a deferred
        # transaction that later writes can fail with "database is locked" under concurrency.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        write = conn.get_execution_options().get("gatehouse_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One per process: the engine and its session factories."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.is_sqlite = settings.is_sqlite
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        write_engine = self.engine.execution_options(gatehouse_write=True)
        self.write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)
        # called after a commit that wrote outbox rows: wakes the in-process worker at once
        self.on_outbox_commit: list[Callable[[], None]] = []
        # SQLite has one writer at a time. Queue this process's writers here rather than in
        # SQLite's busy handler, which sleeps in growing steps and turned 16 concurrent creates into
        # 200 ms waits. (Other processes on the same file still meet busy_timeout.)
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self.reader = LeanReader(settings)  # the hot paths' reads (kit/leanread.py)
        self.lean = LeanWriter(self)  # the create path's writes (kit/leanwrite.py)

    @asynccontextmanager
    async def write_lock(self) -> AsyncIterator[None]:
        """This process's turn at SQLite's one writer (a no-op on PostgreSQL)."""
        if self._write_lock is None:
            yield
            return
        async with self._write_lock:
            yield

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction; commits on success, rolls back on any exception. Never nest two."""
        if self._write_lock is None:
            async with self._transaction() as session:
                yield session
            return
        async with self._write_lock, self._transaction() as session:
            yield session

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.write_sessions() as session:
            async with session.begin():
                yield session
            if session.info.pop("outbox", False):
                for wake in self.on_outbox_commit:
                    wake()

    async def dispose(self) -> None:
        await self.lean.close()
        await self.reader.close()
        await self.engine.dispose()


async def get_database(request: Request) -> Database:  # async: no thread hop
    return request.app.state.db


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.read() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
# Read-only work: a deferred transaction, never holds the SQLite write lock.
SessionDep = Annotated[AsyncSession, Depends(_read_session)]
# Writes go through `Database.write()` inside the service, so the commit has happened before
# the endpoint returns and a 2xx is never sent for an uncommitted change.


async def get_reader(request: Request):  # async: no thread hop
    return request.app.state.reader


# The hot read paths' lean reader (kit/leanread.py)
ReaderDep = Annotated["LeanReader", Depends(get_reader)]
