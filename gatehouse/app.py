"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline

from gatehouse import __version__
from gatehouse.attachments.endpoints import router as attachments_router
from gatehouse.attachments.service import sweep_pending_blobs
from gatehouse.attachments.storage import open_storage
from gatehouse.audit.endpoints import router as events_router
from gatehouse.auth.endpoints import router as auth_router
from gatehouse.auth.service import AuthCache
from gatehouse.comments.endpoints import router as comments_router
from gatehouse.config import Settings
from gatehouse.console.pages import install as install_console
from gatehouse.facility_access.badge_endpoints import router as badges_router
from gatehouse.facility_access.endpoints import router as facility_access_router
from gatehouse.facility_access.kinds import router as kinds_router
from gatehouse.kit.db import Database
from gatehouse.kit.docs import install as install_docs
from gatehouse.kit.handlers import install_error_handlers
from gatehouse.kit.health import router as health_router
from gatehouse.kit.middleware import Load, RequestContextMiddleware
from gatehouse.kit.openapi import install_openapi, operation_id
from gatehouse.kit.validation import reject_unknown_query
from gatehouse.notifications.endpoints import router as notifications_router
from gatehouse.operators.endpoints import router as operators_router
from gatehouse.sites.endpoints import router as sites_router
from gatehouse.visits.pages import install as install_visits
from gatehouse.watchlist.endpoints import router as watchlist_router
from gatehouse.webhooks.endpoints import router as webhooks_router
from gatehouse.wiring import build_worker, install_fanouts

DESCRIPTION = """\
Facility (visitor) access and work-order attachments, wire-compatible with a colocation operator's
FacilityAccess-v1 and Attachments APIs. Everything Gatehouse adds beyond those APIs is marked `x-gatehouse-addition: true`.
Errors always use the envelope `{"error": {correlationId, type, code, message, details}}`.
As the real API, the reader is tolerant: unknown body fields and query parameters are ignored and named
in the `Gatehouse-Ignored` response header, booleans may be the strings "true"/"false", and the
`Bearer ` prefix is optional; the request header `Gatehouse-Strict: true` refuses all of those.
"""


_TUNED: list[bool] = []


def _tune_collector() -> None:
    """The collector's pauses were the desk roster's p99 (500 rows a page: 178 -> 94-114 ms with wrk,
    bench/console_roster): what the process built to start lives as long as it, so it is set aside
    from every later scan (freeze, once per process: a test run starts many apps), and the youngest
    generation is collected every 50k allocations rather than 700."""
    if not _TUNED:
        _TUNED.append(True)
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 10, 10)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    install_fanouts()
    db = Database(settings)
    reader = db.reader
    storage = open_storage(settings.effective_storage_url)
    load = Load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = task = None
        if settings.jobs_enabled:
            # What a crash left half-written, before serving: only blobs whose upload has stopped
            # refreshing its heartbeat, never an upload that another process has under way.
            await sweep_pending_blobs(db, storage, grace=timedelta(seconds=settings.pending_blob_grace_seconds))
        if settings.worker == "in-process":
            # requests first: while any is being served, deliveries go at worker_busy_rate at most
            worker = build_worker(settings, db, storage, busy=load.busy)
            task = asyncio.create_task(worker.run(), name="worker")
        app.state.worker = worker
        _tune_collector()
        try:
            yield
        finally:
            if worker is not None and task is not None:
                worker.stop()
                await asyncio.gather(task, return_exceptions=True)
            await storage.close()
            await db.dispose()

    # FastAPIOffline: /docs and /redoc load Swagger UI and ReDoc from Gatehouse itself, not a CDN
    app = FastAPIOffline(
        generate_unique_id_function=operation_id,
        title="Gatehouse",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query)],
    )
    app.state.settings = settings
    app.state.db = db
    app.state.reader = reader
    app.state.storage = storage
    app.state.auth_cache = AuthCache(settings.auth_cache_seconds)

    for router in (health_router, auth_router, sites_router, facility_access_router,
                   comments_router, attachments_router, operators_router, events_router, webhooks_router,
                   notifications_router, kinds_router, badges_router, watchlist_router):
        app.include_router(router)

    install_visits(app)  # the visitor's own page (SPEC §15), no sign-in
    install_error_handlers(app)
    install_docs(app)
    install_console(app)
    install_openapi(app)
    from gatehouse.kit.metrics import observe_request

    observe = observe_request if settings.metrics_port is not None else None
    app.add_middleware(RequestContextMiddleware, log_requests=settings.access_log, load=load, observe=observe)
    logging.getLogger("gatehouse").setLevel(settings.log_level.upper())
    return app
