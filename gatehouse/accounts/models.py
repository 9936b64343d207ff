"""Tenancy: master accounts own accounts; users are granted accounts with permissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base, utcnow

PERMISSIONS = (
    "visitor-access:request",
    "visitor-access:approve",
    "tickets:read",
    "attachments:write",
    "audit:read",
    "webhooks:manage",
    # the rest of FacilityAccess-v1 (SPEC §13)
    "permanent-badge:request",
    "permanent-badge:approve",
    "pop-poe:request",
    "notifications:read",
    "users:manage",  # the account's people: invite, grant within one's own, disable (SPEC §16)
)


OPERATOR_ROLES = ("desk", "watchlist", "admin")


class MasterAccount(Base):
    __tablename__ = "master_accounts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # its people sign in to the console with a second factor (SPEC §16), set by an operator admin
    require_totp: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SignInPolicy(Base):
    """One row: whether operators must sign in with a second factor (SPEC §16)."""

    __tablename__ = "sign_in_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operators_require_totp: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    master_account_id: Mapped[str] = mapped_column(ForeignKey("master_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """A customer user (belongs to a master account) or an operator (scoped to sites)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="customer")  # customer | operator
    display_name: Mapped[str] = mapped_column(String(40), unique=True)
    master_account_id: Mapped[str | None] = mapped_column(ForeignKey("master_accounts.id"), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # where Gatehouse mails this person (approvals, denials, disabled webhooks); optional
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # an operator's roles, space-separated (SPEC §16): desk, watchlist, admin
    operator_roles: Mapped[str] = mapped_column(String(60), default="desk", server_default="desk")


class AccountMembership(Base):
    """A user's grant on one account: the permissions it carries there."""

    __tablename__ = "account_memberships"
    __table_args__ = (UniqueConstraint("user_id", "account_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # Space-separated subset of PERMISSIONS.
    permissions: Mapped[str] = mapped_column(String(255), default="")
    default_account: Mapped[bool] = mapped_column(Boolean, default=False)


class OperatorSite(Base):
    """The sites an operator works at: they see every account's tickets there."""

    __tablename__ = "operator_sites"
    __table_args__ = (UniqueConstraint("user_id", "site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"))
