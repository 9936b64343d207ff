from __future__ import annotations

from pydantic import BaseModel, Field


class SiteOut(BaseModel):
    site: str = Field(description="Site code: 6 alphanumerics.")
    address: str
    city: str
    metro: str
    country: str
    timezone: str = Field(description="IANA timezone (a Gatehouse addition).",
                          json_schema_extra={"x-gatehouse-addition": True})


class LocationOut(BaseModel):
    id: str
    location: str
    parentId: str | None
