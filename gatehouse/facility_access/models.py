"""Visitor access work orders (tickets), their locations, status history and list counters."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.kit.db import Base, utcnow


class WorkOrder(Base):
    """One work order per (visitor, site) of an access request."""

    __tablename__ = "work_orders"
    __table_args__ = (
        # The list is always "one account, newest first", optionally filtered by one column.
        Index("ix_work_orders_account_created", "account_id", "created_at", "id"),
        Index("ix_work_orders_account_site_created", "account_id", "site_code", "created_at", "id"),
        Index("ix_work_orders_account_status_created", "account_id", "status", "created_at", "id"),
        Index("ix_work_orders_account_requester_created", "account_id", "requester", "created_at", "id"),
        Index("ix_work_orders_account_kind_created", "account_id", "request_type", "created_at", "id"),
        # The operator roster and the end-of-badge job.
        Index("ix_work_orders_site_status_badge", "site_code", "status", "badge_end"),
        # the roll call's fingerprint (count and latest change of who is on site) from the index alone
        Index("ix_work_orders_site_status_updated", "site_code", "status", "updated_at"),
        Index("ix_work_orders_status_badge_end", "status", "badge_end"),
        Index("ix_work_orders_anonymised_closed", "anonymised_at", "closed_at"),
    )

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # WO + 7 digits
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    master_account_id: Mapped[str] = mapped_column(String(40))
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code"))
    status: Mapped[str] = mapped_column(String(32))
    # what kind of request made it (SPEC §13): Visitor Access / Permanent Badge / PoP/POE Room Access
    request_type: Mapped[str] = mapped_column(String(32), default="Visitor Access", server_default="Visitor Access")
    ticket_category: Mapped[str] = mapped_column(String(40), default="New Visitor Access",
                                                 server_default="New Visitor Access")
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # a permanent badge's request: whose badge it is
    badge_holder_id: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    requester: Mapped[str] = mapped_column(String(40))
    created_app_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    modified_by: Mapped[str] = mapped_column(String(40))

    visitor_first_name: Mapped[str] = mapped_column(String(20))
    visitor_last_name: Mapped[str] = mapped_column(String(20))
    visitor_email: Mapped[str] = mapped_column(String(50))
    visitor_phone: Mapped[str] = mapped_column(String(40), default="")
    escorted: Mapped[bool] = mapped_column(Boolean, default=True)
    escort_first_name: Mapped[str] = mapped_column(String(20), default="")
    escort_last_name: Mapped[str] = mapped_column(String(20), default="")
    host_first_name: Mapped[str] = mapped_column(String(20))
    host_last_name: Mapped[str] = mapped_column(String(20))
    host_company: Mapped[str] = mapped_column(String(120))
    # the host, told when the visitor arrives (SPEC §14, visitorHostEmail)
    host_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    company: Mapped[str] = mapped_column(String(120))
    badge_start: Mapped[date] = mapped_column(Date)
    badge_end: Mapped[date] = mapped_column(Date)
    extended_badge: Mapped[bool] = mapped_column(Boolean, default=False)
    bulk_request: Mapped[bool] = mapped_column(Boolean, default=False)
    email_notifications: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    customer_external_reference: Mapped[str] = mapped_column(String(40), default="")
    # a PoP/POE visitor's visitors[].contactType (SPEC §13); else the detail's contactType is the title
    contact_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    # Precomputed once at create: "<First> <Last> going to visit <SITE> - <locs> on MM/dd/yyyy".
    title: Mapped[str] = mapped_column(String(400))
    location_summary: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    badge_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # the desk's last check-in and check-out (SPEC §14: times on the roster, ticket and log)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    checked_out_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    overstay_reported_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # once per stay
    # the desk's identity check (never the whole document number) and escort confirmation (SPEC §14)
    identity_type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    identity_country: Mapped[str | None] = mapped_column(String(56), nullable=True)
    identity_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    identity_expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    identity_checked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    escort_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    escort_badge_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # the day-before mail, once
    # the visitor's acceptance of the site's rules before arrival (SPEC §15)
    rules_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rules_accepted_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    rules_accepted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    rules_accepted_ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    # set by the retention job (GATEHOUSE_PII_RETENTION_DAYS) when the PII was cleared
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WorkOrderLocation(Base):
    __tablename__ = "work_order_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    location_name: Mapped[str] = mapped_column(String(100))
    access_start: Mapped[date] = mapped_column(Date)
    access_end: Mapped[date] = mapped_column(Date)
    # the daily hours of SPEC §3: with the dates, one window in site time (defaults 00:00 and 23:59)
    access_start_time: Mapped[time] = mapped_column(Time, default=time(0, 0), server_default="00:00:00")
    access_end_time: Mapped[time] = mapped_column(Time, default=time(23, 59), server_default="23:59:00")
    # a permanent badge's locations may be at several sites (None: the work order's site), and each
    # is approved or denied on its own (None: it follows the ticket, as visitor tickets do)
    site_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class BadgeHolder(Base):
    """A person with a permanent badge of an account (SPEC §13): made by a New Badge request, changed
    by Modify Badge and Terminate All Access. Their access is the approved locations of their
    requests; their status is read from the dates (`badges.holder_status`)."""

    __tablename__ = "badge_holders"
    __table_args__ = (UniqueConstraint("account_id", "email_key"),)

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # BH + 8 digits
    account_id: Mapped[str] = mapped_column(String(18))
    email_key: Mapped[str] = mapped_column(String(254))  # the email, lower-cased: one holder per person
    first_name: Mapped[str] = mapped_column(String(20))
    last_name: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    company: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40))
    badge_start: Mapped[date] = mapped_column(Date)
    badge_expiration: Mapped[date | None] = mapped_column(Date, nullable=True)
    badge_number: Mapped[str | None] = mapped_column(String(40), nullable=True)  # at first check-in
    last_check_in: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    terminated_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TicketEvent(Base):
    """Every status change: who, when, from and to."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class TicketCount(Base):
    """Per-(account, site, status, requester) ticket counts, kept in the same transaction as
    every create and status change, so a list's totalElements never needs a scan. Each count is
    spread over a few rows (`shard`, summed by the reads): see counts.py."""

    __tablename__ = "ticket_counts"

    account_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    site_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    requester: Mapped[str] = mapped_column(String(40), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0, server_default="0")
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    app_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_flight | done
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_until: Mapped[datetime] = mapped_column(DateTime)


# A ticket's comments are part of the ticket (its wire shape carries them), so the table is
# defined here; the comments package adds the API and the rules of writing them.
class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_work_order_id_id", "work_order_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    comment: Mapped[str] = mapped_column(Text)
    commented_by: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BulkImport(Base):
    """A CSV file of access requests (console): its checked rows, the groups to create, and what
    each group's create returned. Kept for the result file; purged with the retention job."""

    __tablename__ = "bulk_imports"
    __table_args__ = (Index("ix_bulk_imports_user", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(18))
    filename: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    total_rows: Mapped[int] = mapped_column(Integer)
    valid_rows: Mapped[int] = mapped_column(Integer)
    rows_json: Mapped[str] = mapped_column(Text)
    groups_json: Mapped[str] = mapped_column(Text)
    results_json: Mapped[str] = mapped_column(Text)
