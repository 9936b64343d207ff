"""Webhook endpoints of an account (customer integrations) or of a site (badge printers, access
control systems). Deliveries are outbox rows of the `webhook` channel (target = endpoint id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_account", "account_id", "enabled"),
        Index("ix_webhook_endpoints_site", "site_code", "enabled"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(18), nullable=True)  # an account's endpoint
    site_code: Mapped[str | None] = mapped_column(String(6), nullable=True)  # or an operator site's
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[str] = mapped_column(Text)  # JSON list; ["*"] = all
    description: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The signing secret must be readable to sign (HMAC): it is stored, shown to people only once.
    secret: Mapped[str] = mapped_column(String(120))
    previous_secret: Mapped[str | None] = mapped_column(String(120), nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
