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


async def upgrade_async(settings: Settings, revision: str = "heads") -> None:
    # env.py drives its own event loop, so run it off this one.
    await asyncio.to_thread(upgrade, settings, revision)
