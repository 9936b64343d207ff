"""The desk's own rows: roll-call marks (SPEC §14), one per person on site, shared by every guard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class RollCallMark(Base):
    __tablename__ = "roll_call_marks"

    site_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    accounted_for: Mapped[bool] = mapped_column(Boolean)
    marked_by: Mapped[str] = mapped_column(String(40))
    marked_at: Mapped[datetime] = mapped_column(DateTime)
