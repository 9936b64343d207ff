"""Apps (client credentials), issued access tokens, lock-out counters and the revocation epoch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base, utcnow
from gatehouse.kit.epoch import SecurityEpoch  # noqa: F401 - re-exported


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # argon2id hash; the plain secret is shown once at creation and never stored.
    secret_hash: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="default")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # strict: unknown fields and parameters refused, booleans JSON booleans (SPEC §1 strict mode)
    strict: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccessToken(Base):
    __tablename__ = "access_tokens"

    # SHA-256 of the bearer token: a leaked database does not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class SignInThrottle(Base):
    """The lock-out counter of console sign-in (kit/lockout.py), keyed by the SHA-256 of the
    lower-cased email typed, whether anybody has that email or not: a known and an unknown email
    are refused alike, so sign-in does not tell who has an account."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


class ServerKey(Base):
    """Keys made once per installation and shared by every process through the database: the key
    of client-secret hashes (HMAC-SHA256). Made at first use, never rotated by the service."""

    __tablename__ = "server_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
