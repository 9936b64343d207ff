"""FastAPI dependencies: CurrentPrincipal, account context and permission checks.

Order of checks on every call: token (401) -> account headers (400/403) -> permission (403)
-> only then does the endpoint look anything up (404)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security.utils import get_authorization_scheme_param

from gatehouse.accounts.schemas import ACCOUNT_ID, MASTER_ID
from gatehouse.auth.principal import AccountContext, Principal
from gatehouse.auth.service import authenticate
from gatehouse.kit import context
from gatehouse.kit.context import Actor
from gatehouse.kit.errors import BadRequest, ErrorDetail, Forbidden, Unauthorized, ValidationFailed
from gatehouse.kit.openapi import documents
from gatehouse.kit.tolerant import become_strict
from gatehouse.kit.validation import is_strict

# What the checks below read from the request, documented on every operation that uses them
# (kit/openapi.documents): they read the request themselves rather than through sub-dependencies and
# Header parameters, because FastAPI solves each of those on every call (py-spy, ticket detail on
# PostgreSQL: a third of the event loop's time; 510 against 657 us of CPU a request, flattened).
BEARER = {"HTTPBearer": {"type": "http", "scheme": "bearer",
                         "description": "`Authorization: Bearer <access_token>` from a token endpoint."}}
ACCOUNT_HEADERS = [
    {"name": name, "in": "header", "required": True, "description": text,
     "schema": {"type": "string", "minLength": 1, "pattern": r"\S", "title": name, "description": text}}
    for name, text in (("Master-Account-Id", "Customer master account identifier."),
                       ("Account-Id", "Customer account identifier."))]


def account_headers_when(when: str) -> list[dict]:
    """The account headers for an operation that needs them only sometimes (`openapi_extra`)."""
    return [{**h, "required": False, "description": f"{h['description']} Needed {when}."} for h in ACCOUNT_HEADERS]


def _token(request: Request) -> str | None:
    authorization = request.headers.get("authorization")
    scheme, credentials = get_authorization_scheme_param(authorization)
    if authorization and scheme and credentials and scheme.lower() == "bearer":
        return credentials
    # `Authorization: <token>` without `Bearer `, as the real API accepts it (not in strict mode)
    value = (authorization or "").strip()
    if not value or " " in value or is_strict(request):
        return None
    return value


@documents(security=BEARER)
async def get_principal(request: Request) -> Principal:
    token = _token(request)
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


def _of_kind(operator: bool) -> Callable[[Request], Awaitable[Principal]]:
    """A caller of one kind only: a customer's token on the operator API (or the reverse) is a 403."""

    @documents(security=BEARER)
    async def dependency(request: Request) -> Principal:
        principal = await get_principal(request)
        if principal.is_operator != operator:
            raise Forbidden()
        return principal

    dependency.__name__ = "get_operator" if operator else "get_customer"
    return dependency


get_customer = _of_kind(operator=False)
CurrentCustomer = Annotated[Principal, Depends(get_customer)]
get_operator = _of_kind(operator=True)
CurrentOperator = Annotated[Principal, Depends(get_operator)]


async def account_context(request: Request, principal: Principal | None = None) -> AccountContext:
    """Token (401, unless the caller has it), then the account headers (400), then the caller's
    membership (403)."""
    if principal is None:
        principal = await get_principal(request)
    headers = request.headers
    master_account_id = headers.get("master-account-id")
    account_id = headers.get("account-id")
    missing = [name for name, value in (("Master-Account-Id", master_account_id), ("Account-Id", account_id))
               if value is None or not value.strip()]
    if missing:
        raise ValidationFailed([ErrorDetail(field=name, code="MISSING_FIELD",
                                            message=f"Mandatory header '{name}' is null or empty.") for name in missing])
    assert master_account_id is not None and account_id is not None
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


def require(permission: str) -> Callable[[Request], Awaitable[AccountContext]]:
    """An account-scoped call that needs `permission` on that account."""
    return require_any(permission)


def require_any(*permissions: str) -> Callable[[Request], Awaitable[AccountContext]]:
    """An account-scoped call that needs one of `permissions` (which one is the object's kind's)."""

    @documents(security=BEARER, parameters=ACCOUNT_HEADERS)
    async def dependency(request: Request) -> AccountContext:
        ctx = await account_context(request)
        if not any(p in ctx.permissions for p in permissions):
            raise Forbidden(code="PERMISSION_DENIED")
        return ctx

    named = "_or_".join(p.replace(":", "_").replace("-", "_") for p in permissions)
    dependency.__name__ = f"require_{named}" if len(permissions) == 1 else f"require_any_{named}"
    return dependency


CanRequest = Annotated[AccountContext, Depends(require("visitor-access:request"))]
# visitor tickets need visitor-access:approve, permanent badge requests permanent-badge:approve: the
# service checks which once it has the ticket
CanApprove = Annotated[AccountContext, Depends(require_any("visitor-access:approve", "permanent-badge:approve"))]
CanRead = Annotated[AccountContext, Depends(require("tickets:read"))]
CanWriteAttachments = Annotated[AccountContext, Depends(require("attachments:write"))]
