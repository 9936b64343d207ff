from __future__ import annotations

from pydantic import BaseModel, Field

from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.schemas import TicketOut
from gatehouse.kit.wire import ApiModel, Text


class CheckInIn(ApiModel):
    badgeNumber: Text(40, 1)


class RosterLocation(BaseModel):
    location: str
    accessStartDate: str
    accessEndDate: str
    accessStartTime: str
    accessEndTime: str


class DeskFacts(BaseModel):
    """The desk's times and flags (SPEC §14, §17), in site time with the zone named."""

    checkInTime: str = Field(description="The last check-in, yyyy-MM-dd HH:mm:ss site time; empty before.")
    checkOutTime: str = Field(description="The check-out after it; empty while on site.")
    timezone: str
    noShow: bool = Field(description="Approved, its window over, never checked in.")
    overstayed: bool = Field(description="Still on site GATEHOUSE_OVERSTAY_GRACE_MINUTES after the day's window.")


class RosterRow(DeskFacts):
    ticketId: str
    ticketStatus: Status
    site: str
    accountId: str
    accountName: str
    visitorFirstName: str
    visitorLastName: str
    visitorEmail: str
    company: str
    visitorType: str
    visitorBadgeType: str
    escortFirstName: str
    escortLastName: str
    badgeStartDate: str
    badgeEndDate: str
    badgeNumber: str
    locations: list[RosterLocation]


class RosterPageable(BaseModel):
    page: int
    size: int
    last: bool = Field(description="True when no page follows this one.")


class RosterPage(BaseModel):
    content: list[RosterRow]
    pageable: RosterPageable


class OperatorTicketOut(TicketOut, DeskFacts):
    accountId: str = Field(description="The customer account that owns the ticket.")
    badgeNumber: str = Field(description="Recorded at check-in; empty before.")


class OperatorActionOut(BaseModel):
    ticketId: str
    ticketStatus: Status
    badgeNumber: str
