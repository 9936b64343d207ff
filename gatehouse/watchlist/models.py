"""Watchlist entries and the security holds their matches raise (SPEC §14, §17)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class WatchlistEntry(Base):
    __tablename__ = "watchlist_entries"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(40))
    last_name: Mapped[str] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    site_code: Mapped[str | None] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"),
                                                  nullable=True)  # None: every site
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WatchlistVersion(Base):
    """One counter every change of the list bumps in its transaction: each process screens against
    its own copy of the list and reloads it when the counter moved (one key read per screening)."""

    __tablename__ = "watchlist_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SecurityHold(Base):
    """A ticket whose visitor matched an entry: open until a `watchlist` operator clears or upholds
    it. Only operators ever see it. The entry's reason is copied: deleting the entry keeps the record."""

    __tablename__ = "security_holds"

    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # open | cleared | upheld
    matched_on: Mapped[str] = mapped_column(String(40))  # email | name | similar name (score)
    reason: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[datetime] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
