"""The mail tests run a worker of their own against the suite's one database, and wait for their own
work orders' mails. Mail that earlier tests left pending (hundreds after the harness's fuzz run and
crash tests, whose apps have no worker) would be delivered first, in order, and could outlast a
test's wait: each test here parks what it finds pending and makes it due again when it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import update

from gatehouse.kit.db import Database, utcnow
from gatehouse.worker.models import OutboxMessage

PARKED_UNTIL = datetime(9999, 1, 1)


@pytest.fixture(autouse=True)
async def _earlier_tests_mail_parked(db: Database) -> AsyncIterator[None]:
    async with db.write() as session:
        parked = list((await session.execute(
            update(OutboxMessage).where(OutboxMessage.status == "pending").values(next_attempt_at=PARKED_UNTIL)
            .returning(OutboxMessage.id).execution_options(synchronize_session=False))).scalars())
    yield
    if parked:
        async with db.write() as session:
            await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(parked))
                                   .values(next_attempt_at=utcnow()).execution_options(synchronize_session=False))
