"""The notifications polling API's rows (SPEC §13): what the operator offers clients without
webhooks. One per account per event that mails the notification list, written in the event's
transaction; kept 90 days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base

RETENTION_DAYS = 90


class AccountNotification(Base):
    __tablename__ = "account_notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "account_id"),  # one per account per event, whatever retries
        Index("ix_account_notifications_account_created", "account_id", "created_at", "id"),
        Index("ix_account_notifications_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(18))
    event_id: Mapped[str] = mapped_column(String(36))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    ticket_id: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    read_flag: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    delete_flag: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    dcim: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
