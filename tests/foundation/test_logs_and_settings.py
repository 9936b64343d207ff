from __future__ import annotations

import logging

import httpx
import pytest

from gatehouse.app import create_app
from gatehouse.config import Settings, to_async_url


async def test_access_log_is_structured_and_never_holds_secrets(settings, factory, caplog):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    app = create_app(settings.model_copy(update={"access_log": True}))
    caplog.set_level(logging.INFO, logger="gatehouse.access")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/v2/auth/token", data={"grant_type": "client_credentials", "client_id": caller.client_id,
                                                 "client_secret": caller.client_secret})
        token = r.json()["access_token"]
        await c.get("/v1/sites?x=1", headers=caller.headers)
    await app.state.db.dispose()
    text = caplog.text
    assert '"path": "/v2/auth/token"' in text and '"status": 200' in text
    for secret in (caller.client_secret, token, caller.token):
        assert secret not in text


def test_production_refuses_embedded_database():
    with pytest.raises(ValueError):
        Settings(environment="production")
    Settings(environment="production", database_url="postgresql://db/gatehouse")


def test_database_url_forms():
    assert to_async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert to_async_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    with pytest.raises(ValueError):
        to_async_url("mysql://x")
