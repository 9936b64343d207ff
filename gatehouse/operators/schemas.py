from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from gatehouse.facility_access.lifecycle import Status
from gatehouse.facility_access.schemas import TicketOut
from gatehouse.kit.wire import ApiModel, Text, WireDate
from gatehouse.watchlist.schemas import SecurityHoldOut

DocumentType = Literal["passport", "driving-licence", "national-id", "other"]


class IdentityDocumentIn(ApiModel):
    """What the guard saw: never the whole number, only its last 4 characters."""

    type: DocumentType
    issuingCountry: Annotated[str, Text(56, 2)]
    numberLast4: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{4}$")] = Field(
        description="The document number's last 4 letters or digits.")
    expiryDate: WireDate


class CheckInIn(ApiModel):
    badgeNumber: Annotated[str, Text(40, 1)]
    identityDocument: IdentityDocumentIn | None = Field(
        None, description="Required where the site requires an identity check (SPEC §14).")
    nameMatches: bool | None = Field(None, description="The document's name matches the request's visitor.")
    escortPresent: bool | None = Field(None, description="The named escort is here (escorted visitors).")
    escortBadgeNumber: Annotated[str, Text(40)] | None = None
    rulesAcceptedName: Annotated[str, Text(120)] | None = Field(
        None, description="Where the site requires its rules accepted and the visitor has not yet: the full name "
                          "they type at the desk's tablet (an addition).", json_schema_extra={"x-gatehouse-addition": True})


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
    securityHold: SecurityHoldOut | None = Field(None, description=(
        "A watchlist match (SPEC §14): check-in waits until a watchlist operator clears it. Operators only."))


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


class IdentityCheckOut(BaseModel):
    type: DocumentType
    issuingCountry: str
    numberLast4: str
    expiryDate: str
    checkedAt: str = Field(description="yyyy-MM-dd HH:mm:ss, site time.")


class PreCheckInOut(BaseModel):
    rulesVersion: int
    name: str = Field(description="The full name the visitor typed to accept the rules.")
    acceptedAt: str = Field(description="yyyy-MM-dd HH:mm:ss, site time.")


class OperatorTicketOut(TicketOut, DeskFacts):
    accountId: str = Field(description="The customer account that owns the ticket.")
    badgeNumber: str = Field(description="Recorded at check-in; empty before.")
    identityCheck: IdentityCheckOut | None = Field(None, description="What the desk saw at the last check-in.")
    preCheckIn: PreCheckInOut | None = Field(None, description="The site's rules, accepted before arrival.")
    rulesToAccept: dict | None = Field(None, description="The site's rules to accept at the desk (version, "
                                                         "markdown), where the site requires it and it is not done.")
    escortConfirmed: bool = False
    escortBadgeNumber: str = ""
    requireIdentityCheck: bool = Field(True, description="The site asks for an identity check at check-in.")
    requireEscortConfirmation: bool = Field(True, description="The site asks to confirm an escorted visitor's escort.")


class OperatorActionOut(BaseModel):
    ticketId: str
    ticketStatus: Status
    badgeNumber: str
