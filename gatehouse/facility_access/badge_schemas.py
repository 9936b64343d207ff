"""Wire shapes of permanent badges (SPEC §13), as the real API's own clients send them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gatehouse.facility_access.schemas import Email, Pageable, SiteIn, TicketLocationOut
from gatehouse.kit.wire import ApiModel, LongText, Text, WireDate


class PermBadgeIn(ApiModel):
    """New Badge: one work order for the person's access at every listed site."""

    firstName: Annotated[str, Text(20, 1)]
    lastName: Annotated[str, Text(20, 1)]
    email: Email
    company: Annotated[str, Text(120, 1)]
    phone: Annotated[str, Text(40)] = ""
    badgeStartDate: WireDate
    badgeExpirationDate: WireDate | None = Field(None, description="Optional; may be years ahead.")
    emailNotifications: Annotated[str, LongText(32768)] | None = ""
    sites: Annotated[list[SiteIn], Field(min_length=1, max_length=10)]


class PermBadgeModifyIn(ApiModel):
    """Modify Badge: the holder (by email) gets the added sites and the new details once approved."""

    firstName: Annotated[str, Text(20, 1)]
    lastName: Annotated[str, Text(20, 1)]
    email: Email
    company: Annotated[str, Text(120)] | None = None
    phone: Annotated[str, Text(40)] | None = None
    badgeStartDate: WireDate | None = None
    badgeExpirationDate: WireDate | None = None
    emailNotifications: Annotated[str, LongText(32768)] | None = ""
    addSites: Annotated[list[SiteIn], Field(max_length=10)] = []  # noqa: RUF012 - pydantic copies a default per instance


class PermBadgeTerminateIn(ApiModel):
    """Terminate All Access: the holder's access ends on badgeExpirationDate (default today)."""

    firstName: Annotated[str, Text(20, 1)]
    lastName: Annotated[str, Text(20, 1)]
    email: Email
    company: Annotated[str, Text(120)] | None = None
    badgeExpirationDate: WireDate | None = None
    emailNotifications: Annotated[str, LongText(32768)] | None = ""


class LocationDecisionIn(ApiModel):
    site: Annotated[str, Text(6, 6)]
    location: Annotated[str, Text(100, 1)]
    decision: Literal["approve", "deny"]
    reason: Annotated[str, LongText(4000)] = ""


class ApproveIn(ApiModel):
    """Optional: decide a permanent badge request's locations one by one (no body: approve all)."""

    locations: Annotated[list[LocationDecisionIn], Field(min_length=1, max_length=100)] | None = None


class HolderSiteOut(BaseModel):
    site: str
    locations: list[TicketLocationOut]


class BadgeHolderOut(BaseModel):
    badgeHolderId: str
    firstName: str
    lastName: str
    email: str
    company: str
    status: Literal["Active", "Pending", "Expired", "Terminated", "Deactivated"]
    badgeStartDate: str
    badgeExpirationDate: str
    badgeNumber: str
    lastCheckIn: str
    sites: list[HolderSiteOut]


class BadgeHolderPageOut(BaseModel):
    content: list[BadgeHolderOut]
    pageable: Pageable
