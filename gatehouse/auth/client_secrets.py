"""Client secrets are 256 random bits: a keyed SHA-256 (HMAC with an installation key) is the right
hash for them, as API-key services do — it takes microseconds, where argon2id (kept for people's
passwords, which are guessable) made every token request cost a core for tens of milliseconds.
Hashes made before are argon2id; they still verify, and are replaced at their next successful use."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.models import ServerKey
from gatehouse.kit.db import insert_or_ignore

PREFIX = "hmac-sha256:"
KEY_NAME = "client-secrets"
_keys: dict[str, bytes] = {}  # per database, once per process


def cached_key(database_url: str) -> bytes | None:
    """The key, when this process has read it already (the token path asks here first)."""
    return _keys.get(_where(database_url))


def _where(url: str) -> str:
    return url.split("@")[-1]  # the database, whatever the driver or credentials in the URL


async def key(session: AsyncSession) -> bytes:
    """The installation's HMAC key, made by whichever process needs it first (one row, never twice)."""
    where = _where(str(session.get_bind().engine.url))
    found = _keys.get(where)
    if found is not None:
        return found
    value = (await session.execute(select(ServerKey.value).where(ServerKey.name == KEY_NAME))).scalar()
    if value is None:
        fresh = {"name": KEY_NAME, "value": secrets.token_hex(32)}
        await session.execute(insert_or_ignore(session, ServerKey, fresh))
        value = (await session.execute(select(ServerKey.value).where(ServerKey.name == KEY_NAME))).scalar_one()
    _keys[where] = bytes.fromhex(value)
    return _keys[where]


def digest(key_bytes: bytes, secret: str) -> str:
    return PREFIX + hmac.new(key_bytes, secret.encode(), hashlib.sha256).hexdigest()


def is_keyed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def matches(key_bytes: bytes, stored: str, secret: str) -> bool:
    return hmac.compare_digest(stored, digest(key_bytes, secret))
