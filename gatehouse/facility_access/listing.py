"""The list's query parameters (SPEC §3's `GET .../visitors`), one dependency for every list of
work orders (visitors, PoP/POE)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from gatehouse.facility_access.lifecycle import Status
from gatehouse.kit.errors import ErrorDetail, ValidationFailed


class ListQuery:
    def __init__(
        self,
        site: Annotated[str | None, Query(max_length=6, description="Filter by site code.")] = None,
        status: Annotated[str | None, Query(max_length=32, description="Filter by ticket status.",
                                            json_schema_extra={"enum": [s.value for s in Status]})] = None,
        createdBy: Annotated[str | None, Query(max_length=40, description="Filter by requester name.")] = None,
        size: Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")] = 25,
        page: Annotated[int, Query(ge=0, le=10_000_000, description="Page number, from 0.")] = 0,
    ) -> None:
        if status is not None and status not in Status._value2member_map_:
            raise ValidationFailed([ErrorDetail(field="status", code="INVALID_VALUE",
                                                message="Query parameter 'status' has an unexpected value.")])
        self.site, self.status, self.created_by, self.size, self.page = site, status, createdBy, size, page

    def filters(self) -> dict[str, Any]:
        return {"site": self.site, "status": self.status, "created_by": self.created_by, "size": self.size,
                "page": self.page}
