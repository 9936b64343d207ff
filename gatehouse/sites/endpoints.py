from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gatehouse.auth.dependencies import CanRead
from gatehouse.kit.db import SessionDep
from gatehouse.kit.errors import ErrorDetail, NotFound, ValidationFailed, error_responses
from gatehouse.kit.leanread import SessionRows
from gatehouse.sites.repository import granted_site, granted_sites, visible_locations
from gatehouse.sites.schemas import LocationOut, SiteOut

router = APIRouter(tags=["Sites and locations"])


@router.get(
    "/v1/sites",
    response_model=list[SiteOut],
    summary="Sites granted to the account",
    responses=error_responses(400, 401, 403),
)
async def list_sites(ctx: CanRead, session: SessionDep) -> list[SiteOut]:
    return [
        SiteOut(site=s.code, address=s.address, city=s.city, metro=s.metro, country=s.country, timezone=s.timezone)
        for s in await granted_sites(session, ctx.account_id)
    ]


@router.get(
    "/v1/locations",
    response_model=list[LocationOut],
    summary="Locations of a site granted to the account (granted subtrees)",
    responses=error_responses(400, 401, 403, 404),
)
async def list_locations(
    ctx: CanRead,
    session: SessionDep,
    site: Annotated[str, Query(max_length=64, description="Site code, e.g. IAD024.")],
) -> list[LocationOut]:
    if not site.strip():
        raise ValidationFailed([ErrorDetail(field="site", code="MISSING_FIELD",
                                            message="Mandatory query parameter 'site' is null or empty.")])
    if await granted_site(SessionRows(session), ctx.account_id, site) is None:
        raise NotFound("Resource not found.", code="SITE_NOTFOUND", details=[ErrorDetail(  # the real API's words
            field="site", code="SITE_NOTFOUND", message=f"Query parameter 'site' ('{site}') is not a site granted to "
                                                        "the account.")])
    return [
        LocationOut(id=str(loc.id), location=loc.name, parentId=None if loc.parent_id is None else str(loc.parent_id))
        for loc in await visible_locations(session, ctx.account_id, site)
    ]
