"""The desk's own rows (SPEC §14): roll-call marks shared by every guard, and visitors' photos."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class RollCallMark(Base):
    __tablename__ = "roll_call_marks"

    site_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    accounted_for: Mapped[bool] = mapped_column(Boolean)
    marked_by: Mapped[str] = mapped_column(String(40))
    marked_at: Mapped[datetime] = mapped_column(DateTime)


class VisitorPhoto(Base):
    """The photo the desk took at check-in (SPEC §14): shown on the desk and the printed badge,
    removed with the ticket's other personal data by retention. Small (≤ 2 MiB), so kept in the
    database with its ticket."""

    __tablename__ = "visitor_photos"

    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(20))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    taken_by: Mapped[str] = mapped_column(String(40))
    taken_at: Mapped[datetime] = mapped_column(DateTime)
