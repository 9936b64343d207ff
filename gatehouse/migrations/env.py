"""Alembic environment: runs on the same async engine (and SQLite pragmas) as the service."""

from __future__ import annotations

import asyncio

from alembic import context

from gatehouse.config import Settings
from gatehouse.kit.db import create_engine
from gatehouse.models import Base

config = context.config
target_metadata = Base.metadata


def _do_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things in place
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    settings: Settings = config.attributes.get("settings") or Settings()
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do_run)
            await connection.commit()
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _do_run(connection)
else:
    asyncio.run(_run_online())
