"""Is this error a database connection that went away (a restarted server, `pg_terminate_backend`,
a network cut)? The one test used by the lean reader (retry a read once on a fresh connection) and
by the request middleware (replay an idempotent request once; else answer 503 + Retry-After)."""

from __future__ import annotations

import asyncio
import errno
import random
from collections.abc import Awaitable, Callable
from typing import Any

_LOST_ERRNOS = {errno.ECONNRESET, errno.ECONNREFUSED, errno.EPIPE, errno.ECONNABORTED, errno.ETIMEDOUT}


def _asyncpg_lost(exc: BaseException) -> bool:
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - installed with the package
        return False
    return isinstance(exc, (asyncpg.exceptions.PostgresConnectionError,       # incl. "does not exist"
                            asyncpg.exceptions.OperatorInterventionError,     # admin shutdown, terminate
                            asyncpg.exceptions.InterfaceError,                # "connection is closed"
                            # a connection whose server went away while idle can be left mid-protocol
                            # ("cannot switch to state …"): unusable, like a closed one
                            asyncpg.exceptions.InternalClientError))


def _chain(exc: BaseException) -> list[BaseException]:
    """The error and its causes: the driver's error is often wrapped (SQLAlchemy, asyncpg's pool)."""
    seen: set[int] = set()
    out: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        out.append(current)
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return out


def is_database_busy(exc: BaseException) -> bool:
    """The server refused for want of resources (SQLSTATE class 53: too many connections — for the
    server, the database or the role —, out of memory or disk): nothing was lost, and the request
    may succeed in a moment. Answered 503 with Retry-After, never 500."""
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - installed with the package
        return False
    return any(isinstance(e, asyncpg.exceptions.InsufficientResourcesError) for e in _chain(exc))


def is_connection_lost(exc: BaseException) -> bool:
    for current in _chain(exc):
        if getattr(current, "connection_invalidated", False):  # SQLAlchemy saw a disconnect
            return True
        if _asyncpg_lost(current):
            return True
        if isinstance(current, ConnectionError) or (isinstance(current, OSError) and current.errno in _LOST_ERRNOS):
            return True
    return False


def waiting_connect(connect: Callable[..., Awaitable[Any]], wait: float) -> Callable[..., Awaitable[Any]]:
    """`connect` (asyncpg's), asked again for up to `wait` seconds while the server has no connection
    to spare (SQLSTATE 53300: too many clients, or the role's or database's limit). Under a burst,
    several processes' pools grow at once past the server's limit for milliseconds; a request that
    waits that long is answered, where a refused connect would be a 503. Past `wait` it is refused."""
    import asyncpg

    async def connect_when_free(*args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.02
        while True:
            try:
                return await connect(*args, **kwargs)
            except asyncpg.exceptions.TooManyConnectionsError:
                if loop.time() + delay > deadline:
                    raise
                # jittered, so processes refused together do not come back together
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, 0.25)

    return connect_when_free
