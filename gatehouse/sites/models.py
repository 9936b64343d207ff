"""Sites (facilities), their location trees, and what each account is granted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base


class Site(Base):
    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    metro: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # what the desk must record at check-in (SPEC §14, §17): on by default
    require_identity_check: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    require_escort_confirmation: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # told to visitors on their page and pass (SPEC §15)
    arrival_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")
    # the rules must be accepted before check-in: on the visitor's page, or at the desk's tablet
    require_pre_check_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SiteRules(Base):
    """A site's rules document (Markdown), versioned: a visitor accepts one version by name."""

    __tablename__ = "site_rules"

    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    markdown: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Location(Base):
    """A cage, suite or room; names are unique within their site."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("site_code", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"), nullable=True)
    # room | pop-poe: a PoP/POE room is a site's shared carrier room, requestable by every account
    # granted the site that holds pop-poe:request (SPEC §13)
    kind: Mapped[str] = mapped_column(String(16), default="room", server_default="room")


class AccountSite(Base):
    __tablename__ = "account_sites"
    __table_args__ = (UniqueConstraint("account_id", "site_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"))


class AccountLocation(Base):
    """A grant of a location (and, through it, all its children) to an account."""

    __tablename__ = "account_locations"
    __table_args__ = (UniqueConstraint("account_id", "location_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))
