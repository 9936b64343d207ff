"""A fresh database (SQLite file or a new PostgreSQL database) migrated and seeded with the demo's
world, for the figures that need their own (the console roster, the roll call)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path


def demo_world(kind: str, pg: str, prefix: str):  # type: ignore[no-untyped-def]
    """(settings, data folder, the demo's credentials)."""
    from gatehouse.config import Settings
    from gatehouse.demo import seed_demo
    from gatehouse.kit.db import Database
    from gatehouse.migrations.runner import upgrade

    data = Path(tempfile.mkdtemp(prefix=f"gh-bench-{prefix}-{kind}-"))
    url = ""
    if kind == "postgres":
        import asyncpg

        name = f"gh_bench_{prefix.replace('-', '_')}_{int(time.time())}"

        async def create() -> None:
            conn = await asyncpg.connect(pg)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()

        asyncio.run(create())
        url = pg.rsplit("/", 1)[0] + "/" + name
    settings = Settings(database_url=url, data_dir=data)
    upgrade(settings)

    async def seed():  # type: ignore[no-untyped-def]
        db = Database(settings)
        try:
            return await seed_demo(db, data / "demo-credentials.json")
        finally:
            await db.dispose()

    return settings, data, asyncio.run(seed())


def server_env(settings, data: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"GATEHOUSE_DATABASE_URL": settings.effective_database_url, "GATEHOUSE_DATA_DIR": str(data),
            "GATEHOUSE_ACCESS_LOG": "false", "GATEHOUSE_LOG_LEVEL": "WARNING", "GATEHOUSE_WORKER": "external"}


def analyze(settings) -> None:  # type: ignore[no-untyped-def]
    """The planner's statistics after a figure's own seeding, as autovacuum gathers them within a
    minute (just after 500 new tickets PostgreSQL still believed the site had one: the roster's plan
    was 4x slower, 16 ms vs 4.5)."""
    import sqlite3

    url = settings.effective_database_url
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            conn.execute("ANALYZE")
        return

    async def pg() -> None:
        import asyncpg

        conn = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    asyncio.run(pg())



async def drop_database(pg_admin: str, name: str) -> None:
    """A bench's own PostgreSQL database, at the end of its run (left behind, every run added one)."""
    import asyncpg

    conn = await asyncpg.connect(pg_admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_world(settings, data: Path, pg: str) -> None:  # type: ignore[no-untyped-def]
    """What demo_world made goes at the end: its folder and its PostgreSQL database."""
    shutil.rmtree(data, ignore_errors=True)
    if settings.database_url.startswith("postgres"):
        asyncio.run(drop_database(pg, settings.database_url.rsplit("/", 1)[1]))
