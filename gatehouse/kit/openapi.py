"""OpenAPI plumbing for bodies parsed by JsonBody, and the app-wide schema customisation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter

_REF = "#/components/schemas/{model}"
_components: dict[str, Any] = {}


def tolerant(schema: Any) -> Any:
    """A request body's schema as the server reads it by default (SPEC §1, the tolerant reader):
    other fields may come (they are ignored and named in Gatehouse-Ignored), and a boolean may also
    be the string "true" or "false". `Gatehouse-Strict: true` refuses both; the schema describes
    the default."""
    if isinstance(schema, list):
        return [tolerant(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "boolean":
        rest = {k: v for k, v in schema.items() if k != "type"}
        return {**rest, "anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["true", "false"]}]}
    return {k: tolerant(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}


def register_body_schema(name: str, adapter: TypeAdapter[Any], *, required: bool = True) -> dict[str, Any]:
    schema = tolerant(adapter.json_schema(ref_template=_REF, mode="validation"))
    defs = schema.pop("$defs", {})
    _components.update(defs)
    if schema.get("type") == "object" or "$ref" not in schema:
        _components[name] = schema
        schema = {"$ref": _REF.format(model=name)}
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


# Short, stable names for generated clients (`client.getAccessTicket(...)`); a route without an
# explicit operation_id gets one from here, and a new route missing from here fails the tests.
OPERATION_IDS = {
    ("GET", "/healthz"): "getHealth",
    ("POST", "/v2/auth/token"): "issueToken",
    ("POST", "/oauth2/v1/token"): "issueTokenJson",
    ("GET", "/v1/accounts"): "listAccounts",
    ("GET", "/v1/sites"): "listSites",
    ("GET", "/v1/locations"): "listLocations",
    ("POST", "/v1/facility-access/visitors/access-requests"): "createAccessRequests",
    ("GET", "/v1/facility-access/access-tickets/{ticketId}"): "getAccessTicket",
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}"): "editAccessTicket",
    ("GET", "/v1/facility-access/visitors"): "listAccessTickets",
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/cancel"): "cancelAccessTicket",
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/approve"): "approveAccessTicket",
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/deny"): "denyAccessTicket",
    ("POST", "/v1/comments"): "addComment",
    ("POST", "/v1/attachments"): "uploadWorkOrderAttachment",
    ("POST", "/v1/attachments/file"): "uploadStagedAttachment",
    ("GET", "/v1/attachments/{attachmentId}"): "getAttachments",
    ("DELETE", "/v1/attachments/{attachmentId}"): "deleteStagedAttachment",
    ("GET", "/v1/attachments/{ticketId}/file/{id}"): "downloadWorkOrderAttachment",
    ("GET", "/v1/attachments/{attachmentId}/file"): "downloadStagedAttachment",
    ("GET", "/ops/v1/access-tickets"): "getRoster",
    ("GET", "/ops/v1/access-tickets/{ticketId}"): "getOperatorAccessTicket",
    ("PUT", "/ops/v1/access-tickets/{ticketId}/check-in"): "checkIn",
    ("PUT", "/ops/v1/access-tickets/{ticketId}/check-out"): "checkOut",
    ("PUT", "/ops/v1/access-tickets/{ticketId}/complete"): "completeAccessTicket",
    ("POST", "/ops/v1/access-tickets/{ticketId}/comments"): "addOperatorComment",
    ("GET", "/v1/audit-events"): "listAuditEvents",
    ("GET", "/ops/v1/audit-events"): "listOperatorAuditEvents",
    ("PUT", "/v1/facility-access/visitors"): "modifyVisitorAccess",
    ("POST", "/v1/facility-access/visitors"): "modifyVisitorAccessPost",
    ("POST", "/v1/facility-access/pop-poes/access-requests"): "createPopPoeRequests",
    ("POST", "/v1/facility-access/visitors/terminate"): "terminateVisitorAccess",
    ("GET", "/v1/facility-access/pop-poes/access-requests"): "listPopPoeRequests",
    ("POST", "/v1/facility-access/perm-badges"): "requestPermanentBadge",
    ("PUT", "/v1/facility-access/perm-badges/modify"): "modifyPermanentBadge",
    ("POST", "/v1/facility-access/perm-badges/terminate"): "terminatePermanentBadge",
    ("GET", "/v1/facility-access/perm-badges"): "listPermanentBadges",
    ("GET", "/ops/v1/sites/{site}/on-site"): "listOnSite",
    ("POST", "/ops/v1/walk-ins"): "createWalkIn",
    ("PUT", "/ops/v1/access-tickets/{ticketId}/security-hold"): "decideSecurityHold",
    ("GET", "/ops/v1/watchlist"): "listWatchlist",
    ("POST", "/ops/v1/watchlist"): "createWatchlistEntry",
    ("POST", "/ops/v1/watchlist/import"): "importWatchlist",
    ("GET", "/ops/v1/watchlist/{entryId}"): "getWatchlistEntry",
    ("PATCH", "/ops/v1/watchlist/{entryId}"): "updateWatchlistEntry",
    ("DELETE", "/ops/v1/watchlist/{entryId}"): "deleteWatchlistEntry",
    ("PUT", "/ops/v1/access-tickets/check-in"): "checkInGroup",
    ("PUT", "/ops/v1/sites/{site}/on-site/{ticketId}"): "markOnSite",
    ("GET", "/v1/notifications"): "listNotifications",
    ("GET", "/v1/notifications/{notificationId}"): "getNotification",
    ("PUT", "/v1/notifications/{notificationId}"): "flagNotification",
}


_F = TypeVar("_F", bound=Callable[..., Any])


def documents(*, security: dict[str, Any] | None = None,
              parameters: list[dict[str, Any]] | None = None) -> Callable[[_F], _F]:
    """A dependency that reads the request itself (a header, the token) and so declares no FastAPI
    parameters, with what those parameters would have documented: the security scheme and the
    parameters, added to every operation that depends on it (`install_openapi`)."""

    def mark(fn: _F) -> _F:
        fn.__dict__["openapi_documents"] = (security or {}, parameters or [])
        return fn

    return mark


def _documented(dependant: Any) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    for sub in dependant.dependencies:
        marks = getattr(sub.call, "openapi_documents", None)
        if marks is not None:
            yield marks
        yield from _documented(sub)


def _add_documented(spec: dict[str, Any], routes: list[Any]) -> None:
    for route in iter_route_contexts(routes):  # as get_openapi walks them (included routers too)
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        marks = list(_documented(route.dependant))
        if not marks:
            continue
        for method in route.methods or ():
            op = spec["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            for security, parameters in marks:
                for name, scheme in security.items():
                    spec["components"].setdefault("securitySchemes", {})[name] = scheme
                    if {name: []} not in op.setdefault("security", []):
                        op["security"].append({name: []})
                have = {(p["name"], p["in"]) for p in op.get("parameters", [])}
                new = [dict(p) for p in parameters if (p["name"], p["in"]) not in have]
                if new:  # where FastAPI puts a dependency's parameters: before the route's openapi_extra ones
                    params = op.setdefault("parameters", [])
                    extra = {(p["name"], p["in"]) for p in (route.openapi_extra or {}).get("parameters", [])}
                    at = next((i for i, p in enumerate(params) if (p["name"], p["in"]) in extra), len(params))
                    params[at:at] = new


def operation_id(route) -> str:
    method = sorted(route.methods)[0]
    return OPERATION_IDS.get((method, route.path_format), f"{method.lower()}_{route.name}")


def _drop_null_defaults(node: Any) -> None:
    """`"default": null` on a non-nullable schema (an optional field that may be left out, never sent
    as null) is invalid OpenAPI: leaving the field out says the same."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and node.get("type") not in (None, "null"):
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)


def install_openapi(app: FastAPI) -> None:
    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes,
            tags=app.openapi_tags,
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        _add_documented(spec, app.routes)
        for key, value in _components.items():
            schemas.setdefault(key, value)
        # FastAPI documents a 422 HTTPValidationError that this service never sends.
        for path_item in spec.get("paths", {}).values():
            for op in path_item.values():
                resp = op.get("responses", {}).get("422")
                if resp and "HTTPValidationError" in str(resp):
                    del op["responses"]["422"]
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        _drop_null_defaults(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = custom_openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema
