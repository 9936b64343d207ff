"""Token endpoints: operator A's form-encoded /v2/auth/token and operator B's JSON /oauth2/v1/token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query

from gatehouse.accounts.repository import accounts_of_user
from gatehouse.accounts.schemas import AccountOut
from gatehouse.auth.dependencies import CurrentCustomer
from gatehouse.auth.schemas import ClientId, ClientSecret, OAuthTokenRequest, OAuthTokenResponse, TokenResponse
from gatehouse.auth.service import issue_token
from gatehouse.kit.db import DatabaseDep, SessionDep
from gatehouse.kit.deps import SettingsDep
from gatehouse.kit.errors import BadRequest, error_responses
from gatehouse.kit.validation import JsonBody

router = APIRouter()  # tags per route: /v1/accounts is listed once, under Accounts

_oauth_body = JsonBody(OAuthTokenRequest, name="OAuthTokenRequest")


@router.post(
    "/v2/auth/token",
    tags=["Authentication"],
    response_model=TokenResponse,
    summary="Issue an access token (client credentials, form-encoded)",
    responses=error_responses(400, 401, 413, 415, 429),
)
async def token_v2(
    db: DatabaseDep,
    settings: SettingsDep,
    client_id: Annotated[ClientId, Form()],
    client_secret: Annotated[ClientSecret, Form()],
    grant_type: Annotated[str, Form(max_length=64, json_schema_extra={"enum": ["client_credentials"]})],
) -> TokenResponse:
    if grant_type != "client_credentials":
        raise BadRequest("Only grant_type 'client_credentials' is supported.", code="unsupported_grant_type")
    issued = await issue_token(db, settings, client_id, client_secret)
    return TokenResponse(access_token=issued.access_token, expires_in=str(issued.expires_in), scope=issued.scope)


@router.post(
    "/oauth2/v1/token",
    tags=["Authentication"],
    response_model=OAuthTokenResponse,
    summary="Issue an access token (client credentials, JSON; operator B's style)",
    responses=error_responses(400, 401, 413, 415, 429),
    openapi_extra=_oauth_body.openapi_extra,
)
async def token_oauth2(
    db: DatabaseDep,
    settings: SettingsDep,
    body: Annotated[OAuthTokenRequest, Depends(_oauth_body)],
) -> OAuthTokenResponse:
    issued = await issue_token(db, settings, body.client_id, body.client_secret)
    return OAuthTokenResponse(
        access_token=issued.access_token,
        token_timeout=str(issued.expires_in),
        user_name=issued.principal.display_name,
    )


# The accounts the caller may act for: part of the caller's identity, so it lives with the tokens
# (accounts sits below auth; it must not import it).
@router.get(
    "/v1/accounts",
    response_model=list[AccountOut],
    summary="The master accounts and accounts the caller may act for (token only)",
    responses=error_responses(400, 401, 403),
    tags=["Accounts"],
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
