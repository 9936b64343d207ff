"""The API's refusals as the error envelope (SPEC §1): Gatehouse's own errors, FastAPI's parameter
errors (named field by field), and Starlette's 404 and 405 (with every method the path serves)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gatehouse.kit.errors import GatehouseError, MethodNotAllowed, NotFound, ValidationFailed, error_response
from gatehouse.kit.validation import details_from_request_errors

_STARLETTE_STATUS = {
    404: (NotFound, "NOT_FOUND", "No resource exists at this path."),
    405: (MethodNotAllowed, "METHOD_NOT_ALLOWED", None),
}


def _leaf_routes(routes):
    """Routes as served: FastAPI wraps included routers (`original_router`), Starlette mounts nest."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _leaf_routes(inner.routes)
        else:
            yield route


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route serves at this path (Starlette only names the first route's)."""
    path = request.scope.get("path", "")
    matching = [route for route in _leaf_routes(request.app.router.routes)
                if getattr(route, "methods", None) and getattr(route, "path_regex", None) is not None
                and route.path_regex.match(path)]
    # /v1/attachments/file is its own resource, though /v1/attachments/{attachmentId} matches it too
    literal = [route for route in matching if getattr(route, "path", None) == path]
    methods: set[str] = set()
    for route in literal or matching:
        methods |= set(route.methods)
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    # each is registered for its one exception class (Starlette types the handlers with Exception)
    async def on_gatehouse_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, GatehouseError)
        return error_response(request, exc)

    async def on_request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, ValidationFailed(details_from_request_errors(exc.errors())))

    async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        kind, code, message = _STARLETTE_STATUS.get(exc.status_code, (None, None, None))
        if kind is None:
            status = exc.status_code
            err = GatehouseError(str(exc.detail), code="HTTP_ERROR", status=status)
        else:
            err = kind(message, code=code)
        if exc.headers:
            err.headers = dict(exc.headers)
        if exc.status_code == 405:
            err.headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(request, err)

    app.add_exception_handler(GatehouseError, on_gatehouse_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
