"""Programmatic Alembic: `gatehouse db upgrade` and the test suite both come through here."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from gatehouse.config import Settings

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["settings"] = settings
    return cfg


def upgrade(settings: Settings, revision: str = "heads") -> None:
    """Run migrations to the newest revision. Safe to call on every start: a no-op when current."""
    command.upgrade(alembic_config(settings), revision)


def current_revision(settings: Settings) -> str | None:
    """The schema's revision, or None for an empty database."""
    from sqlalchemy import inspect, text

    async def read() -> str | None:
        from gatehouse.kit.db import create_engine as create_async

        engine = create_async(settings)
        try:
            async with engine.connect() as conn:
                def get(sync_conn):
                    if not inspect(sync_conn).has_table("alembic_version"):
                        return None
                    return sync_conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                return await conn.run_sync(get)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


async def upgrade_async(settings: Settings, revision: str = "heads") -> None:
    # env.py drives its own event loop, so run it off this one.
    await asyncio.to_thread(upgrade, settings, revision)
