"""How Gatehouse runs uvicorn: the HTTP server's limits, chosen deliberately (README, "Server limits").

uvicorn's httptools protocol has no cap on request-header size and no timeout for a connection
that never finishes its headers: 100 MiB of unterminated headers grew a process by 430 MiB, and
idle connections were held forever. `GuardedHttpToolsProtocol` adds both; the rest are uvicorn's
own settings (keep-alive timeout, concurrency limit, graceful shutdown)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gatehouse.config import Settings


def _reply(status: int, reason: str, code: str, message: str) -> bytes:
    """The SPEC §1 envelope, also for what the HTTP layer refuses before the app sees a request."""
    body = json.dumps({"error": {"correlationId": str(uuid.uuid4()), "type": "client", "code": code,
                                 "message": message, "details": []}}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n").encode()
    return head + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """Request line + headers must fit in `max_header_bytes` and arrive within `header_timeout`."""

    max_header_bytes = 32 * 1024
    header_timeout = 10.0
    _configured = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not GuardedHttpToolsProtocol._configured:  # in `--workers` children: from the environment
            _configure(Settings())
        self._in_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(cast(asyncio.Transport, transport))  # a stream server's: a Transport
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._in_headers and not self.transport.is_closing():
            if self._header_bytes:
                self.transport.write(_reply(408, "Request Timeout", "REQUEST_TIMEOUT",
                                            f"The request headers did not arrive within {self.header_timeout:g} s."))
            self.transport.close()

    def on_message_begin(self) -> None:
        self._in_headers = True
        self._header_bytes = 0
        self._start_header_timer()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._in_headers and self._header_bytes > self.max_header_bytes and not self.transport.is_closing():
            self.transport.write(_reply(431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE",
                                        f"The request line and headers exceed {self.max_header_bytes} bytes."))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own plain-text 400 (bad Content-Length, Content-Length with Transfer-Encoding,
        # a bad chunk size, ...): the same words, in the envelope every other error uses
        self.transport.write(_reply(400, "Bad Request", "MALFORMED_HTTP", f"{msg} The request is not valid HTTP/1.1."))
        self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # idle between keep-alive requests is uvicorn's keep-alive timeout; headers start counting anew
        self._in_headers = True
        self._header_bytes = 0


def _configure(settings: Settings) -> None:
    GuardedHttpToolsProtocol.max_header_bytes = settings.max_header_bytes
    GuardedHttpToolsProtocol.header_timeout = settings.header_timeout_seconds
    GuardedHttpToolsProtocol._configured = True


def server_options(settings: Settings) -> dict[str, Any]:
    _configure(settings)
    return {
        "http": GuardedHttpToolsProtocol,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
        "timeout_graceful_shutdown": 30,
        "access_log": False,
        "log_level": "warning",
        "proxy_headers": False,
    }


def run(app: Any, settings: Settings, *, host: str, port: int, workers: int = 1, factory: bool = False) -> None:
    uvicorn.run(app, host=host, port=port, workers=workers, factory=factory, **server_options(settings))
