from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from gatehouse.kit.wire import ApiModel

ClientId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ClientSecret = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class TokenResponse(BaseModel):
    """Operator A's token response; `expires_in` is a string, as on the real API."""

    access_token: str
    token_type: Literal["BearerToken"] = "BearerToken"
    expires_in: str
    scope: str


class OAuthTokenRequest(ApiModel):
    """Operator B's JSON token request."""

    model_config = ConfigDict(extra="forbid")

    client_id: ClientId
    client_secret: ClientSecret
    grant_type: Literal["client_credentials"]


class OAuthTokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    token_timeout: str
    user_name: str
