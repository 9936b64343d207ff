"""Correlation ids, access logs and the last line of defence against 500s with stack traces."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.kit import context
from gatehouse.kit.connlost import is_connection_lost, is_database_busy
from gatehouse.kit.errors import envelope
from gatehouse.kit.validation import ignored_header

CLIENT_CLOSED = 499  # as nginx logs it: the client went away before the answer
_VALID_CID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("gatehouse.access")
error_log = logging.getLogger("gatehouse.errors")


DOC_PAGES = frozenset({"/docs", "/redoc"})
# The API docs pages load everything from Gatehouse; this keeps them from reaching further (ReDoc's
# bundle would fetch its logo from a CDN). Their inline bootstrap script is FastAPI's own.
DOCS_CSP = (b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:")


# The console (SPEC §12): no inline script anywhere, nothing from elsewhere, never framed.
CONSOLE_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


def _empty_body_then(receive: Receive) -> Receive:
    """A GET's body again (it has none) for a replay, then the connection's own messages."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again


class Load:
    """Requests this process is serving right now: an in-process worker defers to them."""

    def __init__(self) -> None:
        self.active = 0

    def busy(self) -> bool:
        return self.active > 0


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so it costs microseconds on the hot path."""

    def __init__(self, app: ASGIApp, *, log_requests: bool = True, load: Load | None = None,
                 observe: Callable[[Scope, int, float], None] | None = None) -> None:
        self.app = app
        self.log_requests = log_requests
        self.load = load or Load()
        self.observe = observe  # (scope, status, seconds) of every request: the metrics, when they are on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                if _VALID_CID.match(value):
                    cid = value.decode()
                break
        if cid is None:
            cid = str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = cid
        context.correlation_id.set(cid)
        client = scope.get("client")
        context.client_ip.set(client[0] if client else "")
        context.current_actor.set(None)
        cid_header = (b"x-correlation-id", cid.encode())
        extra = [cid_header]
        if scope["path"] in DOC_PAGES:
            extra.append(DOCS_CSP)
        elif scope["path"].startswith("/console"):
            extra.extend(CONSOLE_HEADERS)
        started = time.perf_counter()
        status = 0

        async def send_with_cid(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *extra]
                skipped = scope["state"].get("ignored")
                if skipped:  # what the tolerant reader ignored (kit/validation.py), so a typo stays visible
                    message["headers"].append((b"gatehouse-ignored", ignored_header(skipped)))
            await send(message)

        self.load.active += 1
        try:
            try:
                await self.app(scope, receive, send_with_cid)
            except Exception as exc:
                # A database connection that went away (restart, pg_terminate_backend): the pools
                # have replaced theirs by now, so a request that changes nothing is simply run again.
                if status != 0 or scope["method"] not in ("GET", "HEAD") or not is_connection_lost(exc):
                    raise
                access_log.warning("database connection lost; the %s is run again", scope["method"])
                await self.app(scope, _empty_body_then(receive), send_with_cid)
        except ClientDisconnect:
            # the client closed the connection while its body was being read (an upload cancelled,
            # a load tool stopping): nothing to answer, and nothing went wrong here
            status = status or CLIENT_CLOSED
        except Exception as exc:
            lost = is_connection_lost(exc)
            busy = not lost and is_database_busy(exc)
            if lost:  # a change that did not commit: the client may send it again in a moment
                error_log.warning("database connection lost", extra={"correlation_id": cid})
            elif busy:  # e.g. every connection the server allows is taken: nothing was done
                error_log.warning("database refused for want of resources: %s", exc, extra={"correlation_id": cid})
            else:  # logged with its traceback server-side; the client sees only the envelope
                error_log.exception("unhandled error", extra={"correlation_id": cid})
            if status == 0:
                if lost:
                    code, answer = 503, envelope(cid, 503, "DATABASE_UNAVAILABLE", "The database connection was lost "
                                                 "before the change was confirmed. Retry in a moment (a create sent "
                                                 "again with the same Idempotency-Key is never made twice).")
                elif busy:
                    code, answer = 503, envelope(cid, 503, "DATABASE_BUSY", "The database cannot take this request "
                                                 "now (it has no connection to spare); nothing was changed. Retry in "
                                                 "a moment.")
                else:
                    code, answer = 500, envelope(cid, 500, "INTERNAL_ERROR", "An unexpected error occurred.")
                body = json.dumps(answer).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                if lost or busy:
                    headers.append((b"retry-after", b"1"))
                await send_with_cid({"type": "http.response.start", "status": code, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            status = status or 500
        finally:
            self.load.active -= 1
            if self.observe is not None:
                self.observe(scope, status or 500, time.perf_counter() - started)  # 500: never answered
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                # Path only: query strings and headers can carry secrets, so they are never logged.
                access_log.info(json.dumps({
                    "event": "request", "method": scope["method"], "path": scope["path"],
                    "status": status, "ms": round((time.perf_counter() - started) * 1000, 2),
                    "correlationId": cid,
                }))
