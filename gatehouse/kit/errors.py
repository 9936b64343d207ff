"""The one error hierarchy. Every 4xx/5xx leaves the service as SPEC §1's envelope."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

log = logging.getLogger("gatehouse.errors")


class ErrorDetail(BaseModel):
    field: str
    code: str
    message: str


class ErrorBody(BaseModel):
    correlationId: str
    type: Literal["client", "server"]
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class GatehouseError(Exception):
    status_code: int = 500  # each class's; `status` gives one error its own (an HTTP error passed through)
    default_code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "An unexpected error occurred."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
        status: int | None = None,
    ) -> None:
        if status is not None:
            self.status_code = status
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(GatehouseError):
    status_code = 400
    default_code = "BAD_REQUEST"
    default_message = "The request is not valid."


class ValidationFailed(BadRequest):
    """One or more field problems; each becomes a `details` entry."""

    default_code = "CONSTRAINT_VIOLATION"

    MAX_DETAILS = 100  # a hostile body must not buy a megabytes-long error reply

    def __init__(self, details: list[ErrorDetail], message: str | None = None, total: int | None = None) -> None:
        total = max(total or 0, len(details))
        if message is None:
            message = details[0].message if total == 1 else (
                f"The request has {total} constraint violations; see details."
                + (f" Only the first {self.MAX_DETAILS} are listed." if total > self.MAX_DETAILS else "")
            )
        super().__init__(message, details=details[: self.MAX_DETAILS])


class Unauthorized(GatehouseError):
    status_code = 401
    default_code = "UNAUTHORIZED"
    default_message = "Unauthorized. Access token is missing or invalid."


class Forbidden(GatehouseError):
    status_code = 403
    default_code = "FORBIDDEN"
    default_message = "The requested operation is not permitted for the user."


class NotFound(GatehouseError):
    status_code = 404
    default_code = "NOT_FOUND"
    default_message = "The requested resource was not found."


class MethodNotAllowed(GatehouseError):
    status_code = 405
    default_code = "METHOD_NOT_ALLOWED"
    default_message = "The method is not allowed for the requested resource."


class Conflict(GatehouseError):
    status_code = 409
    default_code = "CONFLICT"
    default_message = "The request conflicts with the current state of the resource."


class PayloadTooLarge(GatehouseError):
    status_code = 413
    default_code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class UnsupportedMediaType(GatehouseError):
    status_code = 415
    default_code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "The content type is not supported."


class Unprocessable(GatehouseError):
    status_code = 422
    default_code = "UNPROCESSABLE"
    default_message = "The request cannot be processed."


class TooManyRequests(GatehouseError):
    status_code = 429
    default_code = "TOO_MANY_REQUESTS"
    default_message = "Too many requests; try again later."


class ServiceUnavailable(GatehouseError):
    status_code = 503
    default_code = "SERVICE_UNAVAILABLE"
    default_message = "The service cannot complete this request right now; retry."


def correlation_id(scope_or_request: Any) -> str:
    scope = getattr(scope_or_request, "scope", scope_or_request)
    return scope.get("state", {}).get("correlation_id", "")


def envelope(cid: str, status: int, code: str, message: str, details: list[ErrorDetail] | None = None) -> dict:
    return {
        "error": {
            "correlationId": cid,
            "type": "server" if status >= 500 else "client",
            "code": code,
            "message": message,
            "details": [d.model_dump() for d in details or []],
        }
    }


def error_response(request: Request, exc: GatehouseError) -> JSONResponse:
    body = envelope(correlation_id(request), exc.status_code, exc.code, exc.message, exc.details)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers or None)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given statuses, all with the envelope schema."""
    descriptions = {
        400: "Invalid input", 401: "Missing, invalid or expired token",
        403: "Account headers not allowed for the caller, or a missing permission",
        404: "Not found, or belongs to another account", 405: "Method not allowed",
        409: "Not allowed in the ticket's current status", 413: "Too large",
        415: "File type not allowed", 422: "Idempotency-Key misuse", 429: "Locked out",
        500: "Server error",
    }
    return {s: {"model": ErrorEnvelope, "description": descriptions.get(s, "Error")} for s in statuses}
