"""Test harness: a real database (SQLite file, or PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is
set), migrated by the real migrations, and the real app over ASGI.

Tests isolate by data, not by rollback: factories make fresh master accounts, accounts, users and
sites with random ids for every test, so tests can also use real concurrent connections (races,
idempotency) that a wrapping transaction would hide."""

from __future__ import annotations

import asyncio
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gatehouse.app import create_app
from gatehouse.config import Settings
from gatehouse.kit.db import Database
from gatehouse.migrations.runner import upgrade
from tests.factories import Factory

PG_ADMIN_URL = os.environ.get("GATEHOUSE_TEST_DATABASE_URL", "")


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    """A throw-away database per test run, so parallel runs never collide."""
    import asyncpg

    name = f"gatehouse_test_{uuid.uuid4().hex[:10]}"
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base = plain.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def _drop_pg_database(admin_url: str, name: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("gatehouse-data")
    created = None
    if PG_ADMIN_URL:
        url, created = _create_pg_database(PG_ADMIN_URL)
    else:
        url = ""
    s = Settings(environment="test", data_dir=Path(data_dir), database_url=url, jobs_enabled=False,
                 access_log=False, auth_cache_seconds=0.2, worker="external",
                 webhook_allow_private=True)
    upgrade(s)
    yield s
    if created:
        _drop_pg_database(PG_ADMIN_URL, created)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture(scope="session")
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gatehouse.test") as c:
        yield c


@pytest.fixture(scope="session")
def db(app) -> Database:  # type: ignore[no-untyped-def]
    return app.state.db


@pytest.fixture
def factory(db: Database, client: httpx.AsyncClient) -> Factory:
    return Factory(db, client)


@pytest.fixture
def is_postgres(settings: Settings) -> bool:
    return not settings.is_sqlite


def random_id(n: int) -> str:
    return secrets.token_hex(n)[:n].upper()


@pytest.fixture
def receivers():  # type: ignore[no-untyped-def]
    """Real HTTP receivers on loopback (tests/receiver.py), shut down after the test."""
    from tests.receiver import Receiver

    made: list = []

    def make(behaviour=None):  # type: ignore[no-untyped-def]
        r = Receiver(behaviour)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
