"""SPEC §2 token endpoints: both dialects, lock-out, rotation and disabling."""

from __future__ import annotations

import asyncio

from gatehouse.auth import service as auth
from gatehouse.auth.models import App
from sqlalchemy import select, update


async def test_v2_token_shape(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.post("/v2/auth/token", data={
        "grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "BearerToken"
    assert body["expires_in"] == "3599" and isinstance(body["expires_in"], str)
    assert "tickets:read" in body["scope"].split()
    assert len(body["access_token"]) >= 32


async def test_oauth2_token_shape(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.post("/oauth2/v1/token", json={
        "grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["token_timeout"] == "3599"
    assert body["user_name"] == caller.name
    # the token works on a customer call
    r = await client.get("/v1/accounts", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert r.status_code == 200


async def test_wrong_secret_is_401_envelope(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.post("/v2/auth/token", data={
        "grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "nope"})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "invalid_client" and err["type"] == "client"
    assert r.headers["x-correlation-id"] == err["correlationId"]
    r = await client.post("/oauth2/v1/token", json={
        "grant_type": "client_credentials", "client_id": "unknown", "client_secret": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_client"


async def test_token_request_validation(client):
    r = await client.post("/v2/auth/token", data={"grant_type": "password", "client_id": "a", "client_secret": "b"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_grant_type"
    r = await client.post("/v2/auth/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert {"client_id", "client_secret"} <= fields
    r = await client.post("/oauth2/v1/token", json={"client_id": "a", "client_secret": "b",
                                                     "grant_type": "client_credentials", "scope": "x"},
                          headers={"Gatehouse-Strict": "true"})
    assert r.status_code == 400
    assert r.json()["error"]["details"][0] == {
        "field": "scope", "code": "UNKNOWN_FIELD", "message": "Payload 'scope' is not a recognised field."}


async def test_lockout_after_five_failures(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bad = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "wrong"}
    for _ in range(5):
        assert (await client.post("/v2/auth/token", data=bad)).status_code == 401
    good = {**bad, "client_secret": caller.client_secret}
    r = await client.post("/v2/auth/token", data=good)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 800
    assert r.json()["error"]["code"] == "CLIENT_LOCKED"
    # the counter lives in the database: the lock is visible there, for every process
    async with db.write() as s:
        app = (await s.execute(App.__table__.select().where(App.client_id == caller.client_id))).first()
        assert app.locked_until is not None
        await s.execute(update(App).where(App.client_id == caller.client_id).values(locked_until=None,
                                                                                     failed_attempts=0))
    assert (await client.post("/v2/auth/token", data=good)).status_code == 200


async def test_sixty_wrong_secrets_at_once_get_five_checks_then_the_lock(factory, client):
    """Issue 8 #3 / 26: only failures are counted, atomically: five 401s, then locked for all."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bad = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "wrong"}
    replies = await asyncio.gather(*(client.post("/v2/auth/token", data=bad) for _ in range(60)))
    codes = [r.status_code for r in replies]
    assert codes.count(401) == 5 and codes.count(429) == 55, codes
    good = {**bad, "client_secret": caller.client_secret}
    r = await client.post("/v2/auth/token", data=good)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 800  # locked, even for the right one


async def test_the_right_secret_in_a_burst_of_wrong_ones_is_never_a_sixth_check(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bad = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "wrong"}
    good = {**bad, "client_secret": caller.client_secret}
    replies = await asyncio.gather(*(client.post("/v2/auth/token", data=b) for b in [bad] * 39 + [good] + [bad] * 20))
    codes = [r.status_code for r in replies]
    assert codes[39] in (200, 429)  # a token only if it came before the fifth failure
    assert codes.count(401) <= (10 if codes[39] == 200 else 5), codes  # a success starts a new run


async def test_twenty_concurrent_requests_of_one_client_all_succeed(factory, client):
    """Issue 26: a fleet of workers starting at once gets its tokens, no 429."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    good = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret}
    replies = await asyncio.gather(*(client.post("/v2/auth/token", data=good) for _ in range(20)))
    assert [r.status_code for r in replies] == [200] * 20


async def test_secrets_are_stored_as_keyed_hashes_and_old_argon2_hashes_are_upgraded(factory, client, db):
    from gatehouse.auth.service import hash_secret

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    async with db.read() as s:
        stored = (await s.execute(select(App.secret_hash).where(App.client_id == caller.client_id))).scalar_one()
    assert stored.startswith("hmac-sha256:") and caller.client_secret not in stored
    async with db.write() as s:  # an app from before: its secret under argon2id
        await s.execute(update(App).where(App.client_id == caller.client_id)
                        .values(secret_hash=hash_secret(caller.client_secret)))
    good = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret}
    assert (await client.post("/v2/auth/token", data=good)).status_code == 200
    async with db.read() as s:
        upgraded = (await s.execute(select(App.secret_hash).where(App.client_id == caller.client_id))).scalar_one()
    assert upgraded == stored  # the same keyed hash as a new app gets
    assert (await client.post("/v2/auth/token", data=good)).status_code == 200
    assert (await client.post("/v2/auth/token", data={**good, "client_secret": "wrong"})).status_code == 401


async def test_success_resets_failure_count(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    bad = {"grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": "wrong"}
    good = {**bad, "client_secret": caller.client_secret}
    for _ in range(4):
        assert (await client.post("/v2/auth/token", data=bad)).status_code == 401
    assert (await client.post("/v2/auth/token", data=good)).status_code == 200
    for _ in range(4):
        assert (await client.post("/v2/auth/token", data=bad)).status_code == 401
    assert (await client.post("/v2/auth/token", data=good)).status_code == 200


async def test_disable_and_rotate_invalidate_tokens_within_a_second(factory, client, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 200
    async with db.write() as s:
        await auth.set_app_enabled(s, caller.client_id, False)
    await asyncio.sleep(1.0)
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 401
    r = await client.post("/v2/auth/token", data={
        "grant_type": "client_credentials", "client_id": caller.client_id, "client_secret": caller.client_secret})
    assert r.status_code == 401
    async with db.write() as s:
        await auth.set_app_enabled(s, caller.client_id, True)
    caller.token = await factory.token(caller)
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 200
    async with db.write() as s:
        new = await auth.rotate_secret(s, caller.client_id)
    await asyncio.sleep(1.0)
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 401
    caller.client_secret = new.client_secret
    caller.token = await factory.token(caller)
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 200


async def test_secret_is_stored_hashed(factory, db):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    async with db.read() as s:
        row = (await s.execute(App.__table__.select().where(App.client_id == caller.client_id))).first()
    assert caller.client_secret not in row.secret_hash
    assert row.secret_hash.startswith("hmac-sha256:")  # keyed: 256-bit random secrets (passwords: argon2id)


async def test_missing_or_bad_bearer_is_401(client):
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                    {"Authorization": "Bearer not-a-token"}):
        r = await client.get("/v1/accounts", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "Unauthorized. Access token is missing or invalid."


async def test_expired_token_is_401(factory, client, db):
    from datetime import timedelta

    from gatehouse.auth.models import AccessToken
    from gatehouse.kit.db import utcnow

    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    async with db.write() as s:
        await s.execute(update(AccessToken).where(AccessToken.token_hash == auth.token_digest(caller.token))
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
    client._transport.app.state.auth_cache.invalidate()  # a fresh process would not have it cached
    assert (await client.get("/v1/accounts", headers=caller.token_headers)).status_code == 401


async def test_revocation_wins_races_with_first_use(factory, client, db):
    """Issue 8 #4: a token's first use racing the rotation that revokes it must not leave it
    cached as valid: within a second of the rotation it is refused, every time."""
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    survivors = 0
    for _ in range(15):
        token = await factory.token(caller)
        headers = {"Authorization": f"Bearer {token}"}

        async def rotate() -> None:
            async with db.write() as s:
                new = await auth.rotate_secret(s, caller.client_id)
            caller.client_secret = new.client_secret

        await asyncio.gather(*(client.get("/v1/accounts", headers=headers) for _ in range(3)), rotate(),
                             *(client.get("/v1/accounts", headers=headers) for _ in range(3)))
        await asyncio.sleep(1.0)
        if (await client.get("/v1/accounts", headers=headers)).status_code != 401:
            survivors += 1
    assert survivors == 0
