"""SPEC §2 tenancy headers and reference data."""

from __future__ import annotations

from gatehouse.sites import service as sites


async def test_accounts_shape_and_default_filter(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/accounts", headers=caller.token_headers)
    assert r.status_code == 200
    assert r.json() == [{
        "masterAccountId": tenant.master_account_id, "masterAccountName": f"Master {tenant.master_account_id}",
        "accountId": tenant.account_id, "accountName": f"Account {tenant.account_id}", "defaultAccount": True}]
    r = await client.get("/v1/accounts?defaultAccount=true", headers=caller.token_headers)
    assert len(r.json()) == 1


async def test_missing_headers_are_400(factory, client):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/sites", headers=caller.token_headers)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "CONSTRAINT_VIOLATION"
    assert {d["field"] for d in err["details"]} == {"Master-Account-Id", "Account-Id"}


async def test_foreign_account_is_403(factory, client):
    a = await factory.tenant()
    b = await factory.tenant()
    caller = next(iter(a.users.values()))
    headers = {**caller.token_headers, "Master-Account-Id": b.master_account_id, "Account-Id": b.account_id}
    r = await client.get("/v1/sites", headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "ASSET_ASSOCIATION_NOTFOUND"
    # right account, wrong master account
    headers = {**caller.headers, "Master-Account-Id": b.master_account_id}
    r = await client.get("/v1/sites", headers=headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "ASSET_ASSOCIATION_NOTFOUND"


async def test_missing_permission_is_403(factory, client):
    tenant = await factory.tenant(perms=["visitor-access:request"])
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/sites", headers=caller.headers)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "The requested operation is not permitted for the user."


async def test_sites_only_granted(factory, client):
    tenant = await factory.tenant(site_count=2, timezone="America/Chicago")
    await factory.site()  # exists, not granted
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/sites", headers=caller.headers)
    assert r.status_code == 200
    body = r.json()
    assert sorted(s["site"] for s in body) == sorted(tenant.sites)
    assert set(body[0]) == {"site", "address", "city", "metro", "country", "timezone"}
    assert body[0]["timezone"] == "America/Chicago"


async def test_locations_granted_subtrees(factory, client, db):
    tenant = await factory.tenant(locations=())
    code = next(iter(tenant.sites))
    async with db.write() as s:
        await sites.create_location(s, code, "Building 1")
        await sites.create_location(s, code, "Suite 100", parent="Building 1")
        await sites.create_location(s, code, "Cage 7", parent="Suite 100")
        await sites.create_location(s, code, "Suite 200", parent="Building 1")
        await sites.grant_location(s, tenant.account_id, code, "Suite 100")
    caller = next(iter(tenant.users.values()))
    r = await client.get(f"/v1/locations?site={code}", headers=caller.headers)
    assert r.status_code == 200
    body = {row["location"]: row for row in r.json()}
    assert set(body) == {"Suite 100", "Cage 7"}
    assert body["Suite 100"]["parentId"] is None
    assert body["Cage 7"]["parentId"] == body["Suite 100"]["id"]


async def test_locations_errors(factory, client):
    tenant = await factory.tenant()
    other = await factory.site()
    caller = next(iter(tenant.users.values()))
    r = await client.get("/v1/locations", headers=caller.headers)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Mandatory query parameter 'site' is null or empty."
    r = await client.get(f"/v1/locations?site={other}", headers=caller.headers)
    assert r.status_code == 404
    r = await client.get("/v1/locations?site=NOPE00", headers=caller.headers)
    assert r.status_code == 404


async def test_operator_cannot_use_customer_endpoints(factory, client):
    tenant = await factory.tenant()
    op = await factory.operator(list(tenant.sites))
    r = await client.get("/v1/accounts", headers=op.token_headers)
    assert r.status_code == 403
