"""Identity providers and the sign-ins under way with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base

OPERATORS = "operators"  # the scope of the operators' provider; any other scope is a master account's id


class SsoProvider(Base):
    __tablename__ = "sso_providers"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)  # "operators" or a master account id
    name: Mapped[str] = mapped_column(String(80))  # "Sign in with <name>"
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(200))
    # sent to the provider's token endpoint, so it must be readable: stored, never shown again
    client_secret: Mapped[str] = mapped_column(String(500))
    email_claim: Mapped[str] = mapped_column(String(60), default="email")
    create_users: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SsoLogin(Base):
    """A sign-in sent to a provider: its state, nonce and PKCE verifier, used once, within 10 minutes."""

    __tablename__ = "sso_logins"

    state: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    next_page: Mapped[str] = mapped_column(String(500), default="/console/")
    created_at: Mapped[datetime] = mapped_column(DateTime)
