"""Stored files (blobs) and the two ways of referring to them: on a work order, or staged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base, utcnow


class Blob(Base):
    """Registered as `pending` before a byte is written, `committed` with its first reference,
    so a crash leaves a findable pending row rather than an orphan object."""

    __tablename__ = "blobs"
    __table_args__ = (Index("ix_blobs_state_created", "state", "created_at"),
                      Index("ix_blobs_state_heartbeat", "state", "heartbeat_at"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | committed
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A pending blob's owner (the upload under way) refreshes this; the sweep only removes pending
    # blobs whose owner has been silent far longer than the refresh interval.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Attachment(Base):
    """A file on a work order (seed 000)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_work_order_created", "work_order_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), index=True)
    filename: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StagedAttachment(Base):
    """A file uploaded first and referenced by id later (seed 002); owned by one user."""

    __tablename__ = "staged_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    extension: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
