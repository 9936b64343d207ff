"""Console sign-in: people's passwords (argon2id, on the user) and server-side sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class ConsoleLogin(Base):
    """A person's console credentials, one per user (customer or operator)."""

    __tablename__ = "console_logins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ConsoleSession(Base):
    """The cookie holds a random token; only its SHA-256 is stored. Ends at logout, after 12 h idle."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    # the password was right, the second factor (TOTP) is still to come: no page but that step
    second_factor_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # opened by an identity provider (SPEC §16): its own second factor stands for the console's
    via_sso: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())



class TotpFactor(Base):
    """A person's TOTP second factor (RFC 6238). The shared secret must be readable to check codes;
    `last_step` refuses a code used once already (replay)."""

    __tablename__ = "totp_factors"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(DateTime)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class TotpRecoveryCode(Base):
    """Ten single-use codes, shown once at enrolment, stored as SHA-256 (80 random bits each)."""

    __tablename__ = "totp_recovery_codes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Invitation(Base):
    """A single-use link (7 days) that lets an invited person set their password (SPEC §16). The link
    is the id and a keyed MAC of it: nothing secret is stored, and the mail carries the only copy."""

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    invited_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
