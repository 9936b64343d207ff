"""SPEC §8: every endpoint that takes an id, tried with another account's (and, for staged
files, another user's) credentials: 404 every time, and nothing changes."""

from __future__ import annotations

import re

from gatehouse.app import create_app
from tests.attachments.conftest import PDF
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
}


def test_matrix_covers_every_id_endpoint(settings):
    missing = id_paths(create_app(settings)) - set(MATRIX)
    assert not missing, f"add these id-taking endpoints to the isolation matrix: {sorted(missing)}"


async def snapshot(client, owner, ticket, staged):  # type: ignore[no-untyped-def]
    detail = (await client.get(f"/v1/facility-access/access-tickets/{ticket}", headers=owner.headers)).json()
    files = (await client.get(f"/v1/attachments/{ticket}", headers=owner.headers)).json()
    meta = (await client.get(f"/v1/attachments/{staged}", headers=owner.token_headers)).json()
    return detail, files, meta


async def test_foreign_ids_are_404_and_nothing_changes(factory, client, db):
    owner_t = await factory.tenant(perms=["visitor-access:request", "tickets:read", "attachments:write"])
    owner = next(iter(owner_t.users.values()))
    ticket = await make_ticket(db, owner_t, status="Pending Approval")
    file_id = (await client.post("/v1/attachments", params={"requestId": ticket, "file_name": "a.pdf"},
                                 files={"file": ("a.pdf", PDF)}, headers=owner.headers)).json()["id"]
    staged = (await client.post("/v1/attachments/file", files={"uploadFile": ("b.pdf", PDF)},
                                headers=owner.token_headers)).json()["attachmentId"]
    other_t = await factory.tenant()
    intruders = {
        "other_account": next(iter(other_t.users.values())),
        # same account, every permission, but not the uploader
        "other_user": await factory.user(owner_t, perms=["visitor-access:request", "visitor-access:approve",
                                                         "tickets:read", "attachments:write"]),
        "other_operator": await factory.operator(list(other_t.sites)),
    }
    before = await snapshot(client, owner, ticket, staged)
    tried = 0
    for (method, template), (who, fill, body) in MATRIX.items():
        targets = []
        for kind in fill.split("|"):
            if kind == "ticket":
                targets.append(re.sub(r"\{\w+\}", ticket, template))
            elif kind == "staged":
                targets.append(re.sub(r"\{\w+\}", staged, template))
            elif kind == "ticket+file":
                targets.append(template.replace("{ticketId}", ticket).replace("{id}", file_id))
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
    assert await snapshot(client, owner, ticket, staged) == before
    # and the foreign ticket never shows in the intruder's list
    rows = (await client.get("/v1/facility-access/visitors", headers=other.headers)).json()["content"]
    assert all(row["id"] != ticket for row in rows)
