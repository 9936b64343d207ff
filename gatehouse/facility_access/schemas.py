"""Wire shapes of seed 001 (FacilityAccess-v1), kept apart from the ORM models."""

from __future__ import annotations

from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, Field, JsonValue, StrictBool, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from gatehouse.facility_access.lifecycle import LocationApproval, Status
from gatehouse.kit.wire import ApiModel, LongText, Text, WireDate, WireTime

ADDITION: dict[str, JsonValue] = {"x-gatehouse-addition": True}

# The request kinds of FacilityAccess-v1 (SPEC §13) and their categories.
RequestType = Literal["Visitor Access", "Permanent Badge", "PoP/POE Room Access"]
TicketCategory = Literal["New Visitor Access", "Modify Visitor Access", "Terminate All Visitor Access", "New Badge",
                         "Modify Badge", "Terminate All Access", ""]


def _email(value: str) -> str:
    if not is_email(value):
        raise PydanticCustomError("INVALID_EMAIL", "is not a valid email address")
    return value


def is_email(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


Email = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_email)]


class VisitorIn(ApiModel):
    visitorFirstName: Annotated[str, Text(20, 1)]
    visitorLastName: Annotated[str, Text(20, 1)]
    visitorEmail: Email
    visitorPhone: Annotated[str, Text(40)] = ""
    company: Annotated[str, Text(120)] | None = Field(None, description="The visitor's own company: the work order's "
                                      "representingCompany instead of the request's company.",
                                      json_schema_extra=ADDITION)


class LocationIn(ApiModel):
    location: Annotated[str, Text(100, 1)]
    accessStartDate: WireDate
    accessEndDate: WireDate
    accessStartTime: WireTime | None = Field(None, description="HH:mm or HH:mm:ss, site time; default 00:00.")
    accessEndTime: WireTime | None = Field(None, description="HH:mm or HH:mm:ss, site time; default 23:59.")


class SiteIn(ApiModel):
    site: Annotated[str, Text(6, 6)]
    locations: Annotated[list[LocationIn], Field(min_length=1, max_length=10)]


class AttachmentRefIn(ApiModel):
    """A staged attachment (seed 002) to link to every created work order."""

    id: Annotated[str, Text(36, 1)]
    name: Annotated[str, Text(100, 1)]


class AccessRequestIn(ApiModel):
    visitors: Annotated[list[VisitorIn], Field(min_length=1, max_length=10,
                                               description="Up to 10 visitor/site combinations.")]
    sites: Annotated[list[SiteIn], Field(min_length=1, max_length=10)]
    visitorType: StrictBool = Field(True, description="true = Escorted visitor, false = Unescorted visitor.")
    escortFirstName: Annotated[str, Text(20)] | None = None
    escortLastName: Annotated[str, Text(20)] | None = None
    visitorHostFirstName: Annotated[str, Text(20, 1)]
    visitorHostLastName: Annotated[str, Text(20, 1)]
    visitorHostCompany: Annotated[str, Text(120, 1)]
    visitorHostEmail: Email | None = Field(None, description="The host, mailed when the visitor checks in.",
                                           json_schema_extra=ADDITION)
    visitorBadgeStartDate: WireDate
    visitorBadgeEndDate: WireDate
    company: Annotated[str, Text(120, 1)]
    emailNotifications: Annotated[str, LongText(32768)] | None = ""
    notes: Annotated[str, LongText(32768)] | None = ""
    isExtendedVisitorBadge: StrictBool | None = None
    isBulkRequest: StrictBool = Field(description="Deprecated; stored and echoed as bulkRequest.")
    attachments: Annotated[list[AttachmentRefIn], Field(max_length=5, json_schema_extra=ADDITION)] = []  # noqa: RUF012 - pydantic copies a default per instance
    # sent by the real API's own clients and accepted there: taken and ignored (SPEC §1)
    standardVisitorBadgeStr: str | bool | None = Field(None, description="Accepted and ignored.")
    extendedVisitorBadgeStr: str | bool | None = Field(None, description="Accepted and ignored.")


AccessRequestsIn = Annotated[list[AccessRequestIn], Field(min_length=1, max_length=10)]


class ModifyVisitorIn(AccessRequestIn):
    """Visitor *modify* (SPEC §13): the visit fields of a create, and `addSites` instead of `sites`:
    access added at those sites for those visitors, under the create's rules."""

    sites: Annotated[list[SiteIn], Field(max_length=10)] = Field(
        [], description="Not used: send addSites.")
    addSites: Annotated[list[SiteIn], Field(min_length=1, max_length=10)]
    isBulkRequest: StrictBool = False  # the real API's modify does not ask for it


class PopPoeVisitorIn(VisitorIn):
    contactType: Annotated[str, Text(40)] = ""


class PopPoeRequestIn(AccessRequestIn):
    """PoP/POE room access (SPEC §13): the visitor-request fields, a contact type per visitor, the
    customer's own reference and details; the locations are the site's PoP/POE rooms."""

    # narrows the base's visitors to PoP/POE visitors (a list is invariant to mypy; pydantic validates these)
    visitors: Annotated[list[PopPoeVisitorIn], Field(min_length=1, max_length=10)]  # type: ignore[assignment]
    customerExternalReference: Annotated[str, Text(40)] = ""
    details: Annotated[str, LongText(32768)] = ""
    isBulkRequest: StrictBool = False


PopPoeRequestsIn = PopPoeRequestIn | Annotated[list[PopPoeRequestIn], Field(min_length=1, max_length=10)]


class TerminateVisitorIn(ApiModel):
    visitorFirstName: Annotated[str, Text(20, 1)]
    visitorLastName: Annotated[str, Text(20, 1)]
    visitorEmail: Email
    visitorPhone: Annotated[str, Text(40)] = ""


class TerminateVisitorsIn(ApiModel):
    """Visitor *terminate* (SPEC §13): every open visitor ticket of these visitors in the account
    ends on visitorBadgeEndDate (default today at each ticket's site)."""

    visitors: Annotated[list[TerminateVisitorIn], Field(min_length=1, max_length=10)]
    visitorBadgeEndDate: WireDate | None = None
    emailNotifications: Annotated[str, LongText(32768)] | None = ""
    notes: Annotated[str, LongText(32768)] | None = ""


class WorkOrderRef(BaseModel):
    workOrderId: str


class CreateResponse(BaseModel):
    workOrder: list[WorkOrderRef]


class TicketLocationOut(BaseModel):
    location: str
    accessStartDate: str = Field(json_schema_extra=ADDITION)
    accessEndDate: str = Field(json_schema_extra=ADDITION)
    accessStartTime: str = Field(json_schema_extra=ADDITION, description="HH:mm:ss, site time.")
    accessEndTime: str = Field(json_schema_extra=ADDITION, description="HH:mm:ss, site time.")
    approvalStatus: LocationApproval | None = Field(
        None, description="A permanent badge's locations are decided one by one.")


class TicketSiteOut(BaseModel):
    site: str
    locations: list[TicketLocationOut]
    address: str


class CommentOut(BaseModel):
    comment: str
    commentedBy: str
    commentedOn: str


class TicketOut(BaseModel):
    ticketId: str
    # the detail's type is "Security", as the seed's sample and the real API answer; list rows keep
    # "Facility Access" as the list sample shows (SPEC §3)
    ticketType: Literal["Security"] = "Security"
    ticketStatus: Status
    requester: str
    ticketCreatedDate: str
    ticketUpdatedDate: str
    requestType: RequestType = "Visitor Access"
    ticketCategory: TicketCategory = "New Visitor Access"
    contactFirstName: str
    contactLastName: str
    contactEmail: str
    contactPhone: str
    representingCompany: str
    badgeStartDate: str
    badgeEndDate: str
    site: list[TicketSiteOut]
    modifiedBy: str
    emailNotifications: str
    visitorType: Literal["Escorted visitor", "Unescorted visitor"]
    visitorBadgeType: Literal["Visitor Access (Escorted)", "Visitor Access (Extended)", "Visitor Access (Unescorted)"]
    visitorHostFirstName: str
    visitorHostLastName: str
    hostCompany: str
    visitorHostEmail: str = Field("", json_schema_extra=ADDITION)
    notes: str
    contactType: str
    escortFirstName: str
    escortLastName: str
    visitorBadgeStartDate: str
    visitorBadgeEndDate: str
    customerExternalReference: str
    workDescription: str
    description: str
    bulkRequest: bool
    closedOn: str = Field(json_schema_extra=ADDITION)
    comments: list[CommentOut] = Field(json_schema_extra=ADDITION)


class TicketRowOut(BaseModel):
    id: str
    title: str
    status: Status
    site: str
    requestType: RequestType = "Visitor Access"
    category: TicketCategory = "New Visitor Access"
    isBulkRequest: bool
    createdOn: str
    updatedOn: str
    closedOn: str
    createdBy: str
    ticketType: Literal["Facility Access"] = "Facility Access"
    description: TicketCategory = "New Visitor Access"
    location: str


class Pageable(BaseModel):
    last: bool
    totalPages: int
    totalElements: int
    size: int
    number: int
    first: bool
    numberOfElements: int
    empty: bool


class TicketPageOut(BaseModel):
    content: list[TicketRowOut]
    pageable: Pageable


class EditIn(ApiModel):
    """Only these two are editable; "" clears a field. Explicit null is refused."""

    # absent: unchanged; a str when given (an explicit null is refused), so the type is not Optional
    visitorPhone: Annotated[str, Text(40)] = None  # type: ignore[assignment]
    emailNotifications: Annotated[str, LongText(32768)] = None  # type: ignore[assignment]


class EditOut(BaseModel):
    workOrderId: str


CancelReason = Literal["Duplicate request", "Request entered in error", "Request no longer needed"]


class CancelIn(ApiModel):
    # "" and null mean the default, as the real API accepted them (SPEC §3)
    cancelReason: CancelReason | Literal[""] | None = "Request no longer needed"

    @field_validator("cancelReason", mode="after")
    @classmethod
    def _default_when_empty(cls, value: str | None) -> str:
        return value or "Request no longer needed"


class CancelStatus(BaseModel):
    status: str


class CancelOut(BaseModel):
    result: CancelStatus


class DenyIn(ApiModel):
    reason: Annotated[str, LongText(4000, 1)]


class StatusChangeOut(BaseModel):
    workOrderId: str
    ticketStatus: Status
