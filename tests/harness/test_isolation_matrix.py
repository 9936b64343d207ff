"""SPEC §8: every endpoint that takes an id, tried with another account's (and, for staged
files, another user's) credentials: 404 every time, and nothing changes."""

from __future__ import annotations

import re

from gatehouse.app import create_app
from tests.attachments.conftest import PDF
from tests.facility_access.conftest import request_for
from tests.factories import make_ticket

UUID = "{uuid}"


def id_paths(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    spec = app.openapi()
    return {(method.upper(), path) for path, ops in spec["paths"].items() if "{" in path for method in ops}


# (method, path template) -> (who tries, how to fill the path, body)
MATRIX = {
    ("GET", "/v1/facility-access/access-tickets/{ticketId}"): ("other_account", "ticket", None),
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}"): ("other_account", "ticket", {"visitorPhone": "666"}),
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/cancel"): ("other_account", "ticket", {}),
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/approve"): ("other_account", "ticket", None),
    ("PUT", "/v1/facility-access/access-tickets/{ticketId}/deny"): ("other_account", "ticket", {"reason": "x"}),
    ("GET", "/v1/attachments/{attachmentId}"): ("both", "ticket|staged", None),
    ("DELETE", "/v1/attachments/{attachmentId}"): ("other_user", "staged", None),
    ("GET", "/v1/attachments/{ticketId}/file/{id}"): ("other_account", "ticket+file", None),
    ("GET", "/v1/attachments/{attachmentId}/file"): ("other_user", "staged", None),
    ("GET", "/ops/v1/access-tickets/{ticketId}"): ("other_operator", "ticket", None),
    ("PUT", "/ops/v1/access-tickets/{ticketId}/check-in"): ("other_operator", "ticket", {"badgeNumber": "1"}),
    ("PUT", "/ops/v1/access-tickets/{ticketId}/check-out"): ("other_operator", "ticket", None),
    ("PUT", "/ops/v1/access-tickets/{ticketId}/complete"): ("other_operator", "ticket", None),
    ("POST", "/ops/v1/access-tickets/{ticketId}/comments"): ("other_operator", "ticket", {"comment": "x"}),
    ("GET", "/v1/notifications/{notificationId}"): ("other_account", "notification", None),
    ("GET", "/ops/v1/sites/{site}/on-site"): ("other_operator", "site", None),
    ("PUT", "/ops/v1/sites/{site}/on-site/{ticketId}"): ("other_operator", "site+ticket", {"accountedFor": True}),
    ("PUT", "/v1/notifications/{notificationId}"): ("other_account", "notification", {"deleteFlag": True}),
    ("PUT", "/ops/v1/access-tickets/{ticketId}/security-hold"): ("other_operator", "ticket",
                                                                 {"decision": "uphold", "reason": "x"}),
    ("GET", "/ops/v1/watchlist/{entryId}"): ("other_operator", "entry", None),
    ("PATCH", "/ops/v1/watchlist/{entryId}"): ("other_operator", "entry", {"reason": "pwned"}),
    ("DELETE", "/ops/v1/watchlist/{entryId}"): ("other_operator", "entry", None),
}
for _prefix, _who, _fill in (("/v1/webhooks", "other_account", "webhook"), ("/ops/v1/webhooks", "other_operator",
                                                                          "ops_webhook")):
    MATRIX.update({
        ("GET", f"{_prefix}/{{webhookId}}"): (_who, _fill, None),
        ("PATCH", f"{_prefix}/{{webhookId}}"): (_who, _fill, {"description": "pwned"}),
        ("DELETE", f"{_prefix}/{{webhookId}}"): (_who, _fill, None),
        ("POST", f"{_prefix}/{{webhookId}}/rotate-secret"): (_who, _fill, None),
        ("POST", f"{_prefix}/{{webhookId}}/test"): (_who, _fill, None),
        ("GET", f"{_prefix}/{{webhookId}}/deliveries"): (_who, _fill, None),
        ("POST", f"{_prefix}/{{webhookId}}/deliveries/{{deliveryId}}/redeliver"): (_who, _fill + "+delivery", None),
    })


def test_matrix_covers_every_id_endpoint(settings):
    missing = id_paths(create_app(settings)) - set(MATRIX)
    assert not missing, f"add these id-taking endpoints to the isolation matrix: {sorted(missing)}"


async def snapshot(client, owner, ticket, staged, hooks=None):  # type: ignore[no-untyped-def]
    detail = (await client.get(f"/v1/facility-access/access-tickets/{ticket}", headers=owner.headers)).json()
    detail["notifications"] = (await client.get("/v1/notifications", headers=owner.headers)).json()
    files = (await client.get(f"/v1/attachments/{ticket}", headers=owner.headers)).json()
    meta = (await client.get(f"/v1/attachments/{staged}", headers=owner.token_headers)).json()
    seen = []
    for path, headers in (hooks or []):
        seen.append((await client.get(path, headers=headers)).json())
        seen.append((await client.get(path + "/deliveries", headers=headers)).json())
    return detail, files, meta, seen


async def test_foreign_ids_are_404_and_nothing_changes(factory, client, db):
    owner_t = await factory.tenant(perms=["visitor-access:request", "tickets:read", "attachments:write",
                                          "notifications:read"])
    owner = next(iter(owner_t.users.values()))
    ticket = await make_ticket(db, owner_t, status="Pending Approval")
    made = await client.post("/v1/facility-access/visitors/access-requests", json=[request_for(owner_t)],
                             headers=owner.headers)  # its "request received" is the owner's notification
    assert made.status_code == 200, made.text
    notification = (await client.get("/v1/notifications", headers=owner.headers)).json()[0]["notificationId"]
    file_id = (await client.post("/v1/attachments", params={"requestId": ticket, "file_name": "a.pdf"},
                                 files={"file": ("a.pdf", PDF)}, headers=owner.headers)).json()["id"]
    staged = (await client.post("/v1/attachments/file", files={"uploadFile": ("b.pdf", PDF)},
                                headers=owner.token_headers)).json()["attachmentId"]
    manager = await factory.user(owner_t, perms=["webhooks:manage"])
    hook = (await client.post("/v1/webhooks", json={"url": "https://hooks.example/a", "eventTypes": ["*"]},
                              headers=manager.headers)).json()["webhookId"]
    owner_op = await factory.operator(list(owner_t.sites), roles=("desk", "watchlist"))
    entry = (await client.post("/ops/v1/watchlist", json={"firstName": "Isolated", "lastName": "Entry", "reason": "r",
                                                          "site": next(iter(owner_t.sites))},
                               headers=owner_op.token_headers)).json()["entryId"]
    ops_hook = (await client.post("/ops/v1/webhooks", json={"url": "https://hooks.example/b", "eventTypes": ["*"],
                                                            "site": next(iter(owner_t.sites))},
                                  headers=owner_op.token_headers)).json()["webhookId"]
    delivery = (await client.post(f"/v1/webhooks/{hook}/test", headers=manager.headers)).json()["deliveryId"]
    ops_delivery = (await client.post(f"/ops/v1/webhooks/{ops_hook}/test", headers=owner_op.token_headers)
                    ).json()["deliveryId"]
    hooks = [(f"/v1/webhooks/{hook}", manager.headers), (f"/ops/v1/webhooks/{ops_hook}", owner_op.token_headers)]
    entry_before = (await client.get(f"/ops/v1/watchlist/{entry}", headers=owner_op.token_headers)).json()
    other_t = await factory.tenant()
    intruders = {
        "other_account": next(iter(other_t.users.values())),
        # same account, every permission, but not the uploader
        "other_user": await factory.user(owner_t, perms=["visitor-access:request", "visitor-access:approve",
                                                         "tickets:read", "attachments:write"]),
        # holding every role, so that only the scope can refuse
        "other_operator": await factory.operator(list(other_t.sites), roles=("desk", "watchlist", "admin")),
    }
    before = await snapshot(client, owner, ticket, staged, hooks)
    tried = 0
    for (method, template), (who, fill, body) in MATRIX.items():
        targets = []
        for kind in fill.split("|"):
            if kind == "ticket":
                targets.append(re.sub(r"\{\w+\}", ticket, template))
            elif kind == "staged":
                targets.append(re.sub(r"\{\w+\}", staged, template))
            elif kind == "site":
                targets.append(template.replace("{site}", next(iter(owner_t.sites))))
            elif kind == "site+ticket":
                targets.append(template.replace("{site}", next(iter(owner_t.sites))).replace("{ticketId}", ticket))
            elif kind == "entry":
                targets.append(template.replace("{entryId}", entry))
            elif kind == "notification":
                targets.append(re.sub(r"\{\w+\}", notification, template))
            elif kind == "ticket+file":
                targets.append(template.replace("{ticketId}", ticket).replace("{id}", file_id))
            elif kind.startswith("webhook") or kind.startswith("ops_webhook"):
                wid, did = (hook, delivery) if kind.startswith("webhook") else (ops_hook, ops_delivery)
                targets.append(template.replace("{webhookId}", wid).replace("{deliveryId}", did))
        people = ["other_account", "other_user"] if who == "both" else [who]
        for path in targets:
            for person in people:
                if person == "other_user" and path.endswith(ticket):
                    continue  # a colleague in the same account may see the account's tickets
                caller = intruders[person]
                r = await client.request(method, path, json=body, headers=caller.headers)
                assert r.status_code == 404, (person, method, path, r.status_code, r.text)
                assert r.json()["error"]["type"] == "client"
                tried += 1
    # ids in query strings and bodies
    other = intruders["other_account"]
    r = await client.post("/v1/comments", json={"requestId": ticket, "comment": "x"}, headers=other.headers)
    assert r.status_code == 404
    r = await client.post("/v1/attachments", params={"requestId": ticket, "file_name": "a.pdf"},
                          files={"file": ("a.pdf", PDF)}, headers=other.headers)
    assert r.status_code == 404
    tried += 2
    assert tried >= len(MATRIX)
    assert await snapshot(client, owner, ticket, staged, hooks) == before
    assert (await client.get(f"/ops/v1/watchlist/{entry}", headers=owner_op.token_headers)).json() == entry_before
    # and the foreign ticket never shows in the intruder's list
    rows = (await client.get("/v1/facility-access/visitors", headers=other.headers)).json()["content"]
    assert all(row["id"] != ticket for row in rows)
