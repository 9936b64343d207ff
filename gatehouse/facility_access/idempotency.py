"""Idempotency-Key for the create call (SPEC §3).

The claim is a row inserted in its own committed transaction, so exactly one of two racing
requests wins it (unique primary key on PostgreSQL; BEGIN IMMEDIATE serialises on SQLite). The
winner stores its 200 response in the same transaction that creates the work orders, so a
stored response and its work orders exist together or not at all."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.facility_access.models import IdempotencyKey
from gatehouse.kit.db import Database, affected, utcnow
from gatehouse.kit.errors import Conflict, ErrorDetail, Unprocessable, ValidationFailed
from gatehouse.kit.leanwrite import Statement

KEY_TTL = timedelta(hours=24)
CLAIM_TTL = timedelta(seconds=60)


def check_key(key: str) -> str:
    if not (1 <= len(key) <= 255) or any(not (0x20 < ord(c) < 0x7F) for c in key):
        raise ValidationFailed([ErrorDetail(
            field="Idempotency-Key", code="INVALID_IDEMPOTENCY_KEY",
            message="Header 'Idempotency-Key' must be 1-255 printable ASCII characters.")])
    return key


def fingerprint(canonical_body: Any, account_id: str) -> str:
    text = json.dumps(canonical_body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{text}\n{account_id}".encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    app_id: int
    key: str
    replay: dict | None = None  # the stored response, when this is a replay


async def claim(db: Database, app_id: int, key: str, fp: str) -> Claim:
    now = utcnow()
    try:
        async with db.write() as session:
            row = await session.get(IdempotencyKey, (app_id, key))
            if row is not None and row.created_at <= now - KEY_TTL:
                await session.delete(row)
                await session.flush()
                row = None
            if row is None:
                session.add(IdempotencyKey(app_id=app_id, key=key, fingerprint=fp, state="in_flight",
                                           created_at=now, claimed_until=now + CLAIM_TTL))
                return Claim(app_id, key)
            if row.fingerprint != fp:
                raise Unprocessable(
                    "This Idempotency-Key was already used with a different request body or account.",
                    code="IDEMPOTENCY_KEY_REUSED")
            if row.state == "done":
                return Claim(app_id, key, json.loads(row.response_body or "{}"))
            if row.claimed_until > now:
                raise Conflict("A request with this Idempotency-Key is still being processed; retry later.",
                               code="IDEMPOTENCY_KEY_IN_USE")
            # The first attempt died mid-flight: its claim lapsed, take it over.
            taken = await session.execute(
                update(IdempotencyKey).where(IdempotencyKey.app_id == app_id, IdempotencyKey.key == key,
                                             IdempotencyKey.claimed_until == row.claimed_until)
                .values(claimed_until=now + CLAIM_TTL).execution_options(synchronize_session=False))
            if affected(taken) != 1:
                raise Conflict("A request with this Idempotency-Key is still being processed; retry later.",
                               code="IDEMPOTENCY_KEY_IN_USE")
            return Claim(app_id, key)
    except IntegrityError:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry later.",
                       code="IDEMPOTENCY_KEY_IN_USE") from None


async def complete(session: AsyncSession, claim_: Claim, response: dict) -> None:
    """Inside the transaction that did the work."""
    await session.execute(
        update(IdempotencyKey).where(IdempotencyKey.app_id == claim_.app_id, IdempotencyKey.key == claim_.key)
        .values(state="done", status_code=200, response_body=json.dumps(response))
        .execution_options(synchronize_session=False))


def complete_statement(claim_: Claim, response: dict) -> Statement:
    """`complete` for the lean write path (kit/leanwrite.py)."""
    return Statement("UPDATE idempotency_keys SET state = 'done', status_code = 200, response_body = ? "
                     "WHERE app_id = ? AND key = ?", (json.dumps(response), claim_.app_id, claim_.key))


async def release(db: Database, claim_: Claim) -> None:
    """A failed attempt frees the key so the client may retry with it."""
    async with db.write() as session:
        await session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.app_id == claim_.app_id, IdempotencyKey.key == claim_.key,
            IdempotencyKey.state == "in_flight"))


async def purge_expired(db: Database) -> int:
    async with db.write() as session:
        result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= utcnow() - KEY_TTL))
        return affected(result)

