"""The watchlist's wire shapes (SPEC §17)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gatehouse.facility_access.schemas import Email
from gatehouse.kit.wire import ApiModel, LongText, Text, WireDate


class EntryIn(ApiModel):
    firstName: Annotated[str, Text(40, 1)]
    lastName: Annotated[str, Text(40, 1)]
    email: Email | None = None
    dateOfBirth: WireDate | None = None
    reason: Annotated[str, LongText(500, 1)]
    site: Annotated[str, Text(6, 1)] | None = Field(None, description="One of the operator's sites; null: every site.")
    expiresOn: WireDate | None = Field(None, description="yyyy-MM-dd; the entry applies until the end of that day.")


class EntryPatch(ApiModel):
    firstName: Annotated[str, Text(40, 1)] | None = None
    lastName: Annotated[str, Text(40, 1)] | None = None
    email: Email | None = None
    dateOfBirth: WireDate | None = None
    reason: Annotated[str, LongText(500, 1)] | None = None
    site: Annotated[str, Text(6, 1)] | None = None
    expiresOn: WireDate | None = None


class EntryOut(BaseModel):
    entryId: str
    firstName: str
    lastName: str
    email: str | None
    dateOfBirth: str | None
    reason: str
    site: str | None
    expiresOn: str | None
    createdBy: str
    createdOn: str


class EntryPage(BaseModel):
    content: list[EntryOut]
    total: int
    page: int
    size: int


class ImportOut(BaseModel):
    created: int
    entries: list[EntryOut]


class HoldDecisionIn(ApiModel):
    decision: Literal["clear", "uphold"]
    reason: Annotated[str, LongText(500, 1)]


class SecurityHoldOut(BaseModel):
    status: Literal["open", "cleared", "upheld"]
    entryId: str
    reason: str
    matchedOn: str = ""
