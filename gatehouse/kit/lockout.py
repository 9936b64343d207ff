"""One lock-out mechanism for everything that checks a secret (client secrets, console passwords).
The counter lives on any mapped class with `failed_attempts` and `locked_until` columns, keyed by
its primary key; every change to it is one atomic UPDATE … RETURNING, so processes agree.

Two ways to use it, by what a check costs:
- a guessable secret with a slow hash (people's passwords, argon2id): each try takes a numbered
  attempt *before* the check (`take`), so a burst over any number of processes gets at most `limit`
  checks; the last allowed failure locks (`failed`); a success takes back its number (`succeeded`);
- a 256-bit random secret with a keyed hash (client secrets, microseconds): the check comes first,
  and only failures are counted (`count_failure`): the `limit`-th locks, the ones after it are refused;
  correct secrets are never refused for arriving together, only while locked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.kit.db import Database, affected, insert_or_ignore, utcnow


@dataclass(frozen=True)
class Attempt:
    number: int
    retry_after: int | None  # locked: whole seconds until the lock ends
    limit: int

    @property
    def over_limit(self) -> bool:
        """More tries at once than a run of failures may have: refuse without verifying."""
        return self.retry_after is None and self.number > self.limit

    @property
    def last_allowed(self) -> bool:
        return self.number >= self.limit


def _pk(model: Any) -> Any:
    return model.__mapper__.primary_key[0]


async def take(db: Database, model: Any, key: Any, *, limit: int, create: bool = False) -> Attempt:
    """The next attempt number for `key` (an expired lock starts a fresh run). With `create`, a
    missing counter row is made first (counters keyed by something that may not exist, such as an
    email nobody has: unknown and known keys then behave alike)."""
    now = utcnow()
    pk = _pk(model)
    async with db.write() as session:
        if create:
            await session.execute(insert_or_ignore(session, model, {pk.key: key, "failed_attempts": 0}))
        expired = model.locked_until.is_not(None) & (model.locked_until <= now)
        number, locked_until = (await session.execute(
            update(model).where(pk == key).values(
                failed_attempts=case((expired, 1), else_=model.failed_attempts + 1),
                locked_until=case((expired, None), else_=model.locked_until),
            ).returning(model.failed_attempts, model.locked_until))).one()
    return Attempt(number, retry_after(locked_until), limit)


async def failed(db: Database, model: Any, key: Any, attempt: Attempt, *, seconds: int) -> bool:
    """A verified try failed. If it was the last one allowed, lock now; True when this call locked."""
    if not attempt.last_allowed:
        return False
    pk = _pk(model)
    async with db.write() as session:
        done = await session.execute(update(model).where(pk == key, model.locked_until.is_(None))
                                     .values(locked_until=utcnow() + timedelta(seconds=seconds)))
    return bool(affected(done))


async def succeeded(session: AsyncSession, model: Any, key: Any, attempt: Attempt) -> None:
    """A success ends the run of failures before it: its own number and all below are taken back.
    Numbers reserved after it (a concurrent burst) stay counted, so a success inside a burst never
    reopens more tries than the limit. Runs in the caller's transaction."""
    pk = _pk(model)
    up_to = attempt.number
    await session.execute(update(model).where(pk == key, model.locked_until.is_(None)).values(
        failed_attempts=case((model.failed_attempts > up_to, model.failed_attempts - up_to), else_=0)))


@dataclass(frozen=True)
class Failure:
    number: int
    retry_after: int | None  # locked (by this failure or before it): whole seconds left
    locked_now: bool  # this failure was the limit-th: it is answered as a failure, the lock starts

    @property
    def refused(self) -> bool:
        """Already locked when it came: answered as locked, not as a wrong secret."""
        return self.retry_after is not None and not self.locked_now


async def count_failure(db: Database, model: Any, key: Any, *, limit: int, seconds: int) -> Failure:
    """Count one failed check: an expired lock starts a new run; the `limit`-th failure locks; one
    while locked is counted past the limit (so it is told apart from the one that locked)."""
    now = utcnow()
    pk = _pk(model)
    active = model.locked_until.is_not(None) & (model.locked_until > now)
    expired = model.locked_until.is_not(None) & (model.locked_until <= now)
    count = case((expired, 1), else_=model.failed_attempts + 1)
    async with db.write() as session:
        number, locked_until = (await session.execute(update(model).where(pk == key).values(
            failed_attempts=count,
            locked_until=case((active, model.locked_until), (count >= limit, now + timedelta(seconds=seconds)),
                              else_=None),
        ).returning(model.failed_attempts, model.locked_until))).one()
    return Failure(number, retry_after(locked_until), number == limit)


def retry_after(locked_until: Any) -> int | None:
    """Seconds left of a lock read with its row, or None when there is none."""
    now = utcnow()
    if locked_until is None or locked_until <= now:
        return None
    return max(1, int((locked_until - now).total_seconds() + 0.999))


async def clear(session: AsyncSession, model: Any, key: Any) -> None:
    """A correct secret ends a run of failures (never a lock that started meanwhile)."""
    now = utcnow()
    await session.execute(update(model).where(
        _pk(model) == key, model.failed_attempts != 0,
        model.locked_until.is_(None) | (model.locked_until <= now)).values(failed_attempts=0, locked_until=None))


async def reset(session: AsyncSession, model: Any, key: Any) -> None:
    """A new secret: the run of failures and any lock end."""
    await session.execute(update(model).where(_pk(model) == key).values(failed_attempts=0, locked_until=None))
