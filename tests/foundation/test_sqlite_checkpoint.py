"""The lean writer commits on the event loop with SQLite's auto-checkpoint off on its connection (a
checkpoint inside a COMMIT fsyncs, and would stall every request): it has the WAL checkpointed on
a thread every CHECKPOINT_EVERY commits instead. Without that, a process that only creates would
grow the WAL without end; with it, the file stays the size of about one interval's commits."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from gatehouse.config import Settings
from gatehouse.kit import leanwrite
from gatehouse.kit.db import Database
from gatehouse.kit.leanwrite import insert
from gatehouse.migrations.runner import upgrade_async
from gatehouse.worker.models import OutboxMessage


async def _commits(db: Database, n: int) -> None:
    now = datetime(2026, 12, 3, 12, 0)
    for i in range(n):
        row = {"channel": "mail", "target": f"t{i}@example.com", "payload": "x" * 3000, "next_attempt_at": now,
               "created_at": now, "updated_at": now}
        await db.lean.run([insert(OutboxMessage.__table__, row)])
        await asyncio.sleep(0)  # as a server's requests do between commits (reading, answering)
    if db.lean._checkpoint is not None:
        await db.lean._checkpoint  # the one started by the last interval, if still running


EVERY = leanwrite.CHECKPOINT_EVERY


@pytest.mark.parametrize("every", [EVERY, 10**9])
async def test_the_wal_is_checkpointed_off_the_commit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           every: int) -> None:
    monkeypatch.setattr(leanwrite, "CHECKPOINT_EVERY", every)
    settings = Settings(environment="test", data_dir=tmp_path, database_url="", jobs_enabled=False, worker="external")
    await upgrade_async(settings)  # alembic drives its own loop
    db = Database(settings)
    wal = tmp_path / "gatehouse.db-wal"
    try:
        await _commits(db, 100)
        first = wal.stat().st_size
        await _commits(db, 300)
        grown = wal.stat().st_size / first
    finally:
        await db.dispose()
    if every == EVERY:
        assert grown < 1.6, f"the WAL grew x{grown:.1f} over 300 more commits: no checkpoint ran"
    else:  # the control: with no checkpoint the same commits do grow it (so the figure above means something)
        assert grown > 3, f"x{grown:.1f}"
