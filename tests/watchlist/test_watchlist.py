"""The watchlist (SPEC §14, §17): entries kept by `watchlist` operators, screening at create and at
check-in, a hold only operators see, its decision; nothing reaches the customer but the denial."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.events.models import Event
from gatehouse.watchlist.screening import Index, normalise
from gatehouse.worker.models import OutboxMessage
from tests.facility_access.conftest import request_for
from tests.factories import rand

API = "/v1/facility-access"
OPS = "/ops/v1/access-tickets"


def test_names_are_normalised_for_case_accents_spacing_and_order():
    assert normalise("José  de la", "CRUZ") == normalise("cruz", "Jose De La") == "cruz de jose la"
    index = Index([{"id": "WL1", "first_name": "Mallory", "last_name": "Blocked", "email": "m@x.example",
                    "site_code": None, "expires_on": None, "reason": "r"},
                   {"id": "WL2", "first_name": "Eve", "last_name": "Gone", "email": None, "site_code": "AAA111",
                    "expires_on": date(2020, 1, 1), "reason": "r"}])
    today = date(2026, 12, 3)
    assert index.screen("x", "y", "M@X.example", "ANY", today).matched_on == "email"
    assert index.screen("blocked", "MALLORY", None, "ANY", today).matched_on == "name"
    assert index.screen("Malory", "Blocked", None, "ANY", today).matched_on.startswith("similar name")
    assert index.screen("Mark", "Brown", None, "ANY", today) is None
    assert index.screen("Eve", "Gone", None, "AAA111", today) is None  # expired
    assert index.screen("Eve", "Gone", None, "AAA111", date(2019, 12, 31)).entry.id == "WL2"
    assert index.screen("Eve", "Gone", None, "BBB222", date(2019, 12, 31)) is None  # another site's


async def _setup(factory, db):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    guard = await factory.operator([site], roles=("desk",))
    security = await factory.operator([site], roles=("desk", "watchlist"))
    async with db.write() as s:
        await accounts.set_email(s, security.name, f"sec.{rand(6).lower()}@operator.example")
    return tenant, site, guard, security


async def test_a_listed_visitor_is_held_at_create_and_the_customer_sees_nothing(client, factory, db):
    tenant, site, guard, security = await _setup(factory, db)
    caller = next(iter(tenant.users.values()))
    first, last = f"Mal{rand(5).lower()}", f"Blocked{rand(4).lower()}"
    r = await client.post("/ops/v1/watchlist", headers=guard.token_headers,
                          json={"firstName": first, "lastName": last, "reason": "Trespass 2025", "site": site})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ROLE_REQUIRED"
    r = await client.post("/ops/v1/watchlist", headers=security.token_headers,
                          json={"firstName": first, "lastName": last, "reason": "Trespass 2025", "site": site})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["site"] == site and entry["createdBy"] == security.name and entry["entryId"].startswith("WL")

    body = request_for(tenant, start=0, end=0)
    body["visitors"] = [{"visitorFirstName": first.upper(), "visitorLastName": last, "visitorEmail": "m@x.example",
                         "visitorPhone": "1"}, {"visitorFirstName": "Fine", "visitorLastName": "Person",
                                                "visitorEmail": "f@x.example", "visitorPhone": "1"}]
    clean = request_for(tenant, start=0, end=0)
    r = await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
    assert r.status_code == 200, r.text
    held, fine = (w["workOrderId"] for w in r.json()["workOrder"])
    # the customer's answer, detail and trail are those of any other ticket
    r2 = await client.post(f"{API}/visitors/access-requests", json=[clean], headers=caller.headers)
    assert r2.status_code == 200 and r2.headers.keys() == r.headers.keys()
    detail = (await client.get(f"{API}/access-tickets/{held}", headers=caller.headers)).json()
    assert "securityHold" not in json.dumps(detail) and "watchlist" not in json.dumps(detail).lower()
    trail = (await client.get("/v1/audit-events", params={"objectId": held}, headers=caller.headers)).json()
    assert trail["content"] and all(not e["type"].startswith("security.") for e in trail["content"])

    desk = (await client.get(f"{OPS}/{held}", headers=guard.token_headers)).json()
    assert desk["securityHold"] == {"status": "open", "entryId": entry["entryId"], "reason": "Trespass 2025",
                                    "matchedOn": "name"}
    assert (await client.get(f"{OPS}/{fine}", headers=guard.token_headers)).json()["securityHold"] is None
    roster = (await client.get(OPS, params={"site": site}, headers=guard.token_headers)).json()["content"]
    assert {r["ticketId"]: (r["securityHold"] or {}).get("status") for r in roster}[held] == "open"
    async with db.read() as s:
        mails = [json.loads(p) for p in (await s.execute(select(OutboxMessage.payload).where(
            OutboxMessage.channel == "mail"))).scalars()]
        hits = (await s.execute(select(Event).where(Event.object_id == held, Event.type == "security.watchlist_hit"))
                ).scalars().all()
    hit_mails = [m for m in mails if m.get("ticketId") == held and m["kind"] == "watchlist_hit"]
    assert [m["to"] for m in hit_mails] == [m["to"] for m in hit_mails if m["to"].endswith("@operator.example")]
    assert len(hit_mails) == 1 and len(hits) == 1 and hits[0].account_id is None

    # check-in waits; a desk-only guard cannot decide; security clears; check-in goes on
    r = await client.put(f"{OPS}/{held}/check-in", json={"badgeNumber": "B1"}, headers=guard.token_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "SECURITY_HOLD"
    r = await client.put(f"{OPS}/{held}/security-hold", json={"decision": "clear", "reason": "Not him"},
                         headers=guard.token_headers)
    assert r.status_code == 403
    r = await client.put(f"{OPS}/{held}/security-hold", json={"decision": "clear", "reason": "Not him: DOB differs"},
                         headers=security.token_headers)
    assert r.status_code == 200 and r.json()["securityHold"]["status"] == "cleared"
    r = await client.put(f"{OPS}/{held}/check-in", json={"badgeNumber": "B1"}, headers=guard.token_headers)
    assert r.status_code == 200, r.text
    r = await client.put(f"{OPS}/{held}/security-hold", json={"decision": "uphold", "reason": "x"},
                         headers=security.token_headers)
    assert r.status_code == 409


async def test_upholding_denies_and_the_customer_reads_only_denied_by_site_security(client, factory, db):
    tenant, site, guard, security = await _setup(factory, db)
    caller = next(iter(tenant.users.values()))
    email = f"{rand(8).lower()}@listed.example"
    r = await client.post("/ops/v1/watchlist", headers=security.token_headers,
                          json={"firstName": "Someone", "lastName": "Else", "email": email, "reason": "Threats"})
    assert r.status_code == 201
    body = request_for(tenant, start=0, end=0)
    body["visitors"][0]["visitorEmail"] = email
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    desk = (await client.get(f"{OPS}/{wo}", headers=security.token_headers)).json()
    assert desk["securityHold"]["matchedOn"] == "email"
    r = await client.put(f"{OPS}/{wo}/security-hold", json={"decision": "uphold", "reason": "Same person"},
                         headers=security.token_headers)
    assert r.status_code == 200 and r.json()["ticketStatus"] == "Approval Denied"
    detail = (await client.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).json()
    assert detail["ticketStatus"] == "Approval Denied"
    trail = (await client.get("/v1/audit-events", params={"objectId": wo}, headers=caller.headers)).json()["content"]
    denied = [e for e in trail if e["type"] == "access_ticket.denied"]
    assert denied and denied[0]["data"]["reason"] == "Denied by site security"
    assert "Threats" not in json.dumps(trail) and "Same person" not in json.dumps(trail)
    # the entry removed: the hold's record stays
    r = await client.delete(f"/ops/v1/watchlist/{desk['securityHold']['entryId']}", headers=security.token_headers)
    assert r.status_code == 204
    assert (await client.get(f"{OPS}/{wo}", headers=security.token_headers)).json()["securityHold"]["status"] == "upheld"


async def test_an_entry_added_after_the_create_is_caught_at_check_in(client, factory, db):
    tenant, site, guard, security = await _setup(factory, db)
    caller = next(iter(tenant.users.values()))
    body = request_for(tenant, start=0, end=0)
    first, last = f"Late{rand(5).lower()}", f"Comer{rand(4).lower()}"
    body["visitors"][0].update(visitorFirstName=first, visitorLastName=last)
    wo = (await client.post(f"{API}/visitors/access-requests", json=[body], headers=caller.headers)
          ).json()["workOrder"][0]["workOrderId"]
    assert (await client.get(f"{OPS}/{wo}", headers=guard.token_headers)).json()["securityHold"] is None
    r = await client.post("/ops/v1/watchlist/import", headers={**security.token_headers, "Content-Type": "text/csv"},
                          content=f"firstName,lastName,email,dateOfBirth,reason,site,expiresOn\n"
                                  f"{first},{last},,1980-02-03,Banned,{site},\n".encode())
    assert r.status_code == 201 and r.json()["created"] == 1, r.text
    r = await client.put(f"{OPS}/{wo}/check-in", json={"badgeNumber": "B7"}, headers=guard.token_headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "SECURITY_HOLD"
    desk = (await client.get(f"{OPS}/{wo}", headers=guard.token_headers)).json()
    assert desk["securityHold"]["status"] == "open" and desk["ticketStatus"] == "Approved"


async def test_entries_are_validated_scoped_and_searchable(client, factory, db):
    tenant, site, guard, security = await _setup(factory, db)
    other = await factory.site()
    r = await client.post("/ops/v1/watchlist", headers=security.token_headers,
                          json={"firstName": "", "lastName": "X", "reason": "r", "site": other})
    assert r.status_code == 400
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert "firstName" in fields
    r = await client.post("/ops/v1/watchlist", headers=security.token_headers,
                          json={"firstName": "A", "lastName": "X", "reason": "r", "site": other})
    assert r.status_code == 400 and r.json()["error"]["details"][0]["field"] == "site"
    bad = await client.post("/ops/v1/watchlist/import", headers={**security.token_headers, "Content-Type": "text/csv"},
                            content=b"firstName,lastName,reason\nA,B,r\n,C,r\n")
    assert bad.status_code == 400 and "Line 3" in bad.text
    name = f"Zed{rand(6).lower()}"
    r = await client.post("/ops/v1/watchlist", headers=security.token_headers,
                          json={"firstName": name, "lastName": "Q", "reason": "r", "site": site})
    eid = r.json()["entryId"]
    found = (await client.get("/ops/v1/watchlist", params={"q": name[:6]}, headers=security.token_headers)).json()
    assert [e["entryId"] for e in found["content"]] == [eid]
    r = await client.patch(f"/ops/v1/watchlist/{eid}", json={"reason": "Changed"}, headers=security.token_headers)
    assert r.status_code == 200 and r.json()["reason"] == "Changed"
    elsewhere = await factory.operator([other], roles=("watchlist",))
    assert (await client.get(f"/ops/v1/watchlist/{eid}", headers=elsewhere.token_headers)).status_code == 404
