from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gatehouse.accounts.repository import accounts_of_user
from gatehouse.accounts.schemas import AccountOut
from gatehouse.auth.dependencies import CurrentCustomer
from gatehouse.kit.db import SessionDep
from gatehouse.kit.errors import error_responses

router = APIRouter(tags=["Accounts"])


@router.get(
    "/v1/accounts",
    response_model=list[AccountOut],
    summary="The master accounts and accounts the caller may act for (token only)",
    responses=error_responses(400, 401, 403),
)
async def list_accounts(
    principal: CurrentCustomer,
    session: SessionDep,
    defaultAccount: Annotated[bool | None, Query(description="Only the default account when true.")] = None,
) -> list[AccountOut]:
    rows = await accounts_of_user(session, principal.user_id, default_only=bool(defaultAccount))
    return [
        AccountOut(masterAccountId=m_id, masterAccountName=m_name, accountId=a_id, accountName=a_name,
                   defaultAccount=bool(default))
        for m_id, m_name, a_id, a_name, default in rows
    ]
