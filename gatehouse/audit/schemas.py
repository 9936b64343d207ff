from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ActorOut(BaseModel):
    kind: str = Field(description="user | operator | admin | system")
    name: str
    clientId: str | None = None


class AuditEventOut(BaseModel):
    id: str
    type: str
    occurredAt: str = Field(description="ISO 8601 UTC with milliseconds")
    actor: ActorOut
    accountId: str | None
    siteCode: str | None
    objectId: str
    data: dict[str, Any] = Field(description="Ids, statuses (from, to), changed field names, reasons; never secrets or PII")
    correlationId: str
    ip: str


class AuditPage(BaseModel):
    content: list[AuditEventOut]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end")
