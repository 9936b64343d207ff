from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from gatehouse.kit.db import SessionDep
from gatehouse.kit.errors import error_responses

router = APIRouter(tags=["Operations"])


class Health(BaseModel):
    status: str


@router.get("/healthz", response_model=Health, summary="Liveness and database reachability",
            responses=error_responses(400, 500), openapi_extra={"x-gatehouse-addition": True})
async def healthz(session: SessionDep) -> Health:
    await session.execute(text("SELECT 1"))
    return Health(status="ok")
