"""Issue 20 #5: PostgreSQL drops the service's connections (pg_terminate_backend, as a restart or a
failover does) under load: no 500s. A read is run again on a fresh connection; a change that could
not be confirmed answers 503 with Retry-After, and is then made once when sent again."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server

API = "/v1/facility-access"


async def _terminate_all(settings) -> int:  # type: ignore[no-untyped-def]
    dsn = settings.effective_database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        return len(await conn.fetch("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        await conn.close()


async def test_terminated_connections_give_no_500(settings, factory, db, is_postgres):
    if not is_postgres:
        pytest.skip("pg_terminate_backend is PostgreSQL's; SQLite has no connections to lose")
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    with real_server(settings) as (port, _app):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = await c.post(f"{API}/visitors/access-requests", json=[request_for(tenant)], headers=caller.headers)
            wo = r.json()["workOrder"][0]["workOrderId"]
            reads = [("/v1/sites", caller.headers), (f"{API}/access-tickets/{wo}", caller.headers),
                     (f"{API}/visitors?size=5", caller.headers), (f"/ops/v1/access-tickets/{wo}", op.token_headers),
                     ("/v1/accounts", caller.token_headers)]
            codes: list[int] = []
            for _round in range(5):
                # every path warm, so each pool holds connections that are about to die
                await asyncio.gather(*(c.get(u, headers=h) for u, h in reads * 3))
                assert await _terminate_all(settings) > 0
                got = await asyncio.gather(*(c.get(u, headers=h) for u, h in reads * 3))
                codes += [g.status_code for g in got]
                w = await c.post(f"{API}/visitors/access-requests", json=[request_for(tenant)],
                                 headers={**caller.headers, "Idempotency-Key": f"lost-{_round}"})
                assert w.status_code in (200, 503), w.text
                if w.status_code == 503:
                    assert w.headers["retry-after"] == "1" and w.json()["error"]["code"] == "DATABASE_UNAVAILABLE"
                    w = await c.post(f"{API}/visitors/access-requests", json=[request_for(tenant)],
                                     headers={**caller.headers, "Idempotency-Key": f"lost-{_round}"})
                    assert w.status_code == 200, w.text
            assert set(codes) == {200}, codes
    # the test's own pools lost their connections too: start them afresh for the tests after this one
    await db.dispose()
