"""Visitor modify and PoP/POE room access (SPEC §13; issue 22): the create with its own body and
kind, read, listed and approved as visitor tickets are."""

from __future__ import annotations

from gatehouse.sites import service as sites
from tests.facility_access.conftest import day, request_for

API = "/v1/facility-access"


async def test_modify_adds_sites_as_modify_work_orders(client, factory):
    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    first, second = list(tenant.sites)
    body = request_for(tenant, visitors=2, site=first)
    body["addSites"] = body.pop("sites") + [{"site": second, "locations": [
        {"location": "Cage B", "accessStartDate": day(1), "accessEndDate": day(1), "accessStartTime": "09:00",
         "accessEndTime": "17:00"}]}]
    for method in ("PUT", "POST"):  # the real API takes both
        r = await client.request(method, f"{API}/visitors", json=body, headers=caller.headers)
        assert r.status_code == 200, r.text
        made = [w["workOrderId"] for w in r.json()["workOrder"]]
        assert len(made) == 4  # one per visitor and site
        t = (await client.get(f"{API}/access-tickets/{made[1]}", headers=caller.headers)).json()
        assert (t["requestType"], t["ticketCategory"]) == ("Visitor Access", "Modify Visitor Access")
        assert t["site"][0]["site"] == second and t["site"][0]["locations"][0]["accessStartTime"] == "09:00:00"
    rows = (await client.get(f"{API}/visitors", headers=caller.headers)).json()["content"]
    assert {(r["requestType"], r["category"], r["description"]) for r in rows} == {
        ("Visitor Access", "Modify Visitor Access", "Modify Visitor Access")}


async def test_modify_names_problems_in_its_own_body(client, factory):
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant)
    body["addSites"] = body.pop("sites")
    body["addSites"][0]["locations"][0]["location"] = "No Such Cage"
    body["visitors"][0]["visitorEmail"] = "nope"
    r = await client.put(f"{API}/visitors", json=body, headers=caller.headers)
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"visitors[0].visitorEmail", "addSites[0].locations[0].location"}, fields
    del body["addSites"]
    body["visitors"][0]["visitorEmail"] = "v0@example.com"
    r = await client.put(f"{API}/visitors", json=body, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "addSites"
    assert r.json()["error"]["message"] == "Mandatory payload 'addSites' is null or empty."


async def _pop_poe_site(factory, db):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant(perms=["visitor-access:request", "tickets:read", "pop-poe:request", "audit:read"])
    site = next(iter(tenant.sites))
    async with db.write() as s:
        await sites.create_location(s, site, "MMR 1", kind="pop-poe")
    return tenant, site


def _pop_poe_body(tenant, site, **extra):  # type: ignore[no-untyped-def]
    body = request_for(tenant, site=site, locations=["MMR 1"])
    body["visitors"][0]["contactType"] = "Carrier technician"
    body.update(customerExternalReference="CHG-4411", details="Cross-connect patching at panel 7", **extra)
    return body


async def test_pop_poe_rooms_by_object_or_list(client, factory, db):
    tenant, site = await _pop_poe_site(factory, db)
    caller = next(iter(tenant.users.values()))
    r = await client.post(f"{API}/pop-poes/access-requests", json=_pop_poe_body(tenant, site), headers=caller.headers)
    assert r.status_code == 200, r.text
    one = r.json()["workOrder"][0]["workOrderId"]
    r = await client.post(f"{API}/pop-poes/access-requests", json=[_pop_poe_body(tenant, site)] * 2,
                          headers=caller.headers)
    assert r.status_code == 200 and len(r.json()["workOrder"]) == 2
    t = (await client.get(f"{API}/access-tickets/{one}", headers=caller.headers)).json()
    assert (t["requestType"], t["ticketCategory"], t["ticketType"]) == ("PoP/POE Room Access", "", "Security")
    assert t["customerExternalReference"] == "CHG-4411" and t["contactType"] == "Carrier technician"
    assert "Cross-connect patching" in t["workDescription"]
    trail = (await client.get("/v1/audit-events", params={"objectId": one}, headers=caller.headers)).json()["content"]
    assert [e["data"]["requestType"] for e in trail] == ["PoP/POE Room Access"]  # evented with its kind
    listed = (await client.get(f"{API}/pop-poes/access-requests", headers=caller.headers)).json()
    assert listed["pageable"]["totalElements"] == 3 and {r["requestType"] for r in listed["content"]} == {
        "PoP/POE Room Access"}
    # a room of the site that is not a PoP/POE room is not requestable this way, and says so
    r = await client.post(f"{API}/pop-poes/access-requests", json=_pop_poe_body(tenant, site) | {
        "sites": [{"site": site, "locations": [{"location": "Cage A", "accessStartDate": day(1),
                                                 "accessEndDate": day(1)}]}]}, headers=caller.headers)
    assert r.status_code == 404 and r.json()["error"]["details"][0]["field"] == "sites[0].locations[0].location"
    assert "PoP/POE room" in r.json()["error"]["details"][0]["message"]
    # an object body's problems are named without the list index
    bad = _pop_poe_body(tenant, site)
    bad["visitors"][0]["visitorEmail"] = "x"
    r = await client.post(f"{API}/pop-poes/access-requests", json=bad, headers=caller.headers)
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "visitors[0].visitorEmail"


async def test_pop_poe_needs_its_permission_and_the_site(client, factory, db):
    tenant, site = await _pop_poe_site(factory, db)
    plain = await factory.user(tenant, perms=["visitor-access:request", "tickets:read"])
    r = await client.post(f"{API}/pop-poes/access-requests", json=_pop_poe_body(tenant, site), headers=plain.headers)
    assert r.status_code == 403
    other = await factory.tenant(perms=["visitor-access:request", "pop-poe:request"])  # not granted the site
    stranger = next(iter(other.users.values()))
    r = await client.post(f"{API}/pop-poes/access-requests", json=_pop_poe_body(tenant, site),
                          headers=stranger.headers)
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found."


async def test_the_portal_adds_access_for_a_visitor_as_a_modify(client, factory, db, app):
    import re

    import httpx

    from gatehouse.accounts import service as accounts
    from gatehouse.console.auth import set_password
    from tests.console.signin import sign_in

    tenant = await factory.tenant(site_count=2)
    caller = next(iter(tenant.users.values()))
    first, second = list(tenant.sites)
    email = f"mod.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, caller.name, email)
    await set_password(db, caller.name, "correct horse battery")
    wo = (await client.post(f"{API}/visitors/access-requests", json=[request_for(tenant, site=first)],
                            headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        assert (await sign_in(c, email, "correct horse battery")).status_code == 303
        page = (await c.get(f"/console/a/{tenant.account_id}/requests/{wo}")).text
        assert "Add access for this visitor" in page and f"{second}|Cage B" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        r = await c.post(f"/console/a/{tenant.account_id}/requests/{wo}/modify",
                         data={"csrf": csrf, "place": f"{second}|Cage B", "from": day(1), "until": day(1)})
        assert r.status_code == 303 and "Access+added" in r.headers["location"], r.text
    rows = (await client.get(f"{API}/visitors", headers=caller.headers)).json()["content"]
    made = [x for x in rows if x["category"] == "Modify Visitor Access"]
    assert len(made) == 1 and made[0]["site"] == second and made[0]["location"] == "Cage B"
