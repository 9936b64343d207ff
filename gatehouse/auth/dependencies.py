"""FastAPI dependencies: CurrentPrincipal, account context and permission checks.

Order of checks on every call: token (401) -> account headers (400/403) -> permission (403)
-> only then does the endpoint look anything up (404)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gatehouse.accounts.schemas import ACCOUNT_ID, MASTER_ID
from gatehouse.auth.principal import AccountContext, Principal
from gatehouse.auth.service import authenticate
from gatehouse.kit import context
from gatehouse.kit.context import Actor
from gatehouse.kit.errors import BadRequest, ErrorDetail, Forbidden, Unauthorized, ValidationFailed
from gatehouse.kit.tolerant import become_strict
from gatehouse.kit.validation import is_strict

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <access_token>` from a token endpoint.")


def _bare_token(request: Request) -> str | None:
    """`Authorization: <token>` without `Bearer `, as the real API accepts it (not in strict mode)."""
    value = request.headers.get("authorization", "").strip()
    if not value or " " in value or is_strict(request):
        return None
    return value


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials is not None else _bare_token(request)
    if not token or len(token) > 512:
        raise Unauthorized()
    state = request.app.state
    principal = await authenticate(state.db, state.auth_cache, token)
    if principal.strict:
        become_strict(request)
    # the actor of whatever this request changes (read by events.record)
    context.current_actor.set(Actor("operator" if principal.is_operator else "user", principal.display_name,
                                    principal.client_id, principal.user_id))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_customer(principal: CurrentPrincipal) -> Principal:
    if principal.is_operator:
        raise Forbidden()
    return principal


CurrentCustomer = Annotated[Principal, Depends(get_customer)]


async def get_operator(principal: CurrentPrincipal) -> Principal:
    if not principal.is_operator:
        raise Forbidden()
    return principal


CurrentOperator = Annotated[Principal, Depends(get_operator)]


async def get_account_context(
    principal: CurrentPrincipal,
    master_account_id: Annotated[str, Header(alias="Master-Account-Id", description="Customer master account identifier.",
                                              json_schema_extra={"minLength": 1, "pattern": r"\S"})],
    account_id: Annotated[str, Header(alias="Account-Id", description="Customer account identifier.",
                                      json_schema_extra={"minLength": 1, "pattern": r"\S"})],
) -> AccountContext:
    missing = [name for name, value in (("Master-Account-Id", master_account_id), ("Account-Id", account_id))
               if not value.strip()]
    if missing:
        raise ValidationFailed([ErrorDetail(field=name, code="MISSING_FIELD",
                                            message=f"Mandatory header '{name}' is null or empty.") for name in missing])
    malformed = [name for name, value, shape in (("Master-Account-Id", master_account_id, MASTER_ID),
                                                 ("Account-Id", account_id, ACCOUNT_ID)) if not shape.match(value)]
    if malformed:  # not the shape of an id at all: the real API's 400, not a 403 (SPEC §1)
        raise BadRequest("Bad request was submitted.", code="BAD_REQUEST", details=[
            ErrorDetail(field=name, code="INVALID_FORMAT", message=f"Header '{name}' is not the shape of an id "
                        + ("(18 letters or digits)." if name == "Account-Id" else "(1-40 letters, digits, '-' or '_').")
                        ) for name in malformed])
    membership = principal.memberships.get(account_id)
    if membership is None or membership.master_account_id != master_account_id:
        raise Forbidden(
            "The account association for the given Master-Account-Id and Account-Id was not found for the user.",
            code="ASSET_ASSOCIATION_NOTFOUND",
        )
    return AccountContext(principal, master_account_id, account_id, membership.permissions)


def require(permission: str) -> Callable[..., Awaitable[AccountContext]]:
    """An account-scoped call that needs `permission` on that account."""

    async def dependency(ctx: Annotated[AccountContext, Depends(get_account_context)]) -> AccountContext:
        if permission not in ctx.permissions:
            raise Forbidden(code="PERMISSION_DENIED")
        return ctx

    dependency.__name__ = f"require_{permission.replace(':', '_').replace('-', '_')}"
    return dependency


def require_any(*permissions: str) -> Callable[..., Awaitable[AccountContext]]:
    """An account-scoped call that needs one of `permissions` (which one is the object's kind's)."""

    async def dependency(ctx: Annotated[AccountContext, Depends(get_account_context)]) -> AccountContext:
        if not any(p in ctx.permissions for p in permissions):
            raise Forbidden(code="PERMISSION_DENIED")
        return ctx

    dependency.__name__ = "require_any_" + "_or_".join(p.replace(":", "_").replace("-", "_") for p in permissions)
    return dependency


CanRequest = Annotated[AccountContext, Depends(require("visitor-access:request"))]
# visitor tickets need visitor-access:approve, permanent badge requests permanent-badge:approve: the
# service checks which once it has the ticket
CanApprove = Annotated[AccountContext, Depends(require_any("visitor-access:approve", "permanent-badge:approve"))]
CanRead = Annotated[AccountContext, Depends(require("tickets:read"))]
CanWriteAttachments = Annotated[AccountContext, Depends(require("attachments:write"))]
