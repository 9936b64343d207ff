"""Events (SPEC §9). Append-only: on PostgreSQL a trigger refuses UPDATE and DELETE except inside
the retention purge (which sets `gatehouse.purge` for its transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base

SeqType = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements only INTEGER keys


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_account_seq", "account_id", "seq"),
        Index("ix_events_site_seq", "site_code", "seq"),
        Index("ix_events_object_seq", "object_id", "seq"),
        Index("ix_events_occurred", "occurred_at"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)  # keyset order
    id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_client_id: Mapped[str] = mapped_column(String(64), default="")
    account_id: Mapped[str | None] = mapped_column(String(18), nullable=True)
    site_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    object_id: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[str] = mapped_column(Text, default="{}")  # JSON: ids, statuses, field names; never PII
    correlation_id: Mapped[str] = mapped_column(String(64), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")
