"""Is this error a database connection that went away (a restarted server, `pg_terminate_backend`,
a network cut)? The one test used by the lean reader (retry a read once on a fresh connection) and
by the request middleware (replay an idempotent request once; else answer 503 + Retry-After)."""

from __future__ import annotations

import errno

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


def is_connection_lost(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # the driver's error is often a cause
        seen.add(id(current))
        if getattr(current, "connection_invalidated", False):  # SQLAlchemy saw a disconnect
            return True
        if _asyncpg_lost(current):
            return True
        if isinstance(current, ConnectionError) or (isinstance(current, OSError) and current.errno in _LOST_ERRNOS):
            return True
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return False
