"""SPEC §8: a corpus of malformed requests against every kind of endpoint. Each gets a 4xx with
the error envelope and a correlation id; none gets a 5xx; the service is healthy afterwards."""

from __future__ import annotations

import json


import pytest

from tests.factories import make_ticket

PDF = b"%PDF-1.4\n%%EOF\n"

MALFORMED_JSON: list[tuple[str, bytes]] = [
    ("nbsp", '{\n\u00a0 "cancelReason": "Duplicate request"\n}'.encode()),
    ("bom", b"\xef\xbb\xbf{}"),
    ("trailing-comma", b'{"a": 1,}'),
    ("single-quotes", b"{'a': 1}"),
    ("truncated", b'{"visitors": [{"visitorFirstName": "Ja'),
    ("nan", b'{"a": NaN}'),
    ("comment", b'{"a": 1 /* c */}'),
    ("deep-nesting", b"[" * 50_000 + b"]" * 50_000),
    ("deep-objects", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("invalid-utf8", b'{"a": "\xff\xfe"}'),
    ("lone-surrogate", b'{"comment": "\\ud800"}'),
    ("nul-byte", b'{"a": "x\x00"}'),
    ("control-char", b'{"a": "line\nbreak"}'),
    ("just-garbage", b"\x00\x01\x02\x03"),
    ("xml", b"<a>1</a>"),
    ("too-big", b'{"notes": "' + b"x" * (1024 * 1024 + 10) + b'"}'),
    ("empty", b""),
    ("whitespace", b"   \n  "),
    ("null", b"null"),
    ("number", b"12345678901234567890123456789"),
    ("string", b'"hello"'),
    ("array-of-arrays", b"[[[[]]]]"),
    ("huge-number", b'{"requestId": 1e999999}'),
    ("wrong-types", json.dumps({"requestId": True, "comment": ["x"], "visitorPhone": 5, "cancelReason": 1,
                                "reason": {}, "badgeNumber": None, "client_id": [], "grant_type": 7}).encode()),
    ("unknown-fields", json.dumps({"status": "Approved", "ticketId": "WO1", "__proto__": {}}).encode()),
    ("long-key", json.dumps({"k" * 100_000: 1}).encode()),
]

# Bad only in strict mode: by default unknown fields are ignored and named (SPEC §1, tolerant reader)
STRICT_ONLY = {"unknown-fields", "long-key"}

CONTENT_TYPES = ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                 "application/json; charset=latin-1\x7f"]

BAD_IDS = ["..%2F..%2Fetc%2Fpasswd", "%2e%2e", "WO%000000001", "WO123456%0A", "x" * 3000, "%F0%9F%92%A9",
           "WO1234567%3Bdrop", "%252e%252e%252f", "00000000-0000-0000-0000-00000000000g", "%C0%AE%C0%AE"]


@pytest.fixture
async def world(factory, db):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    ticket = await make_ticket(db, tenant, status="Pending Approval")
    operator = await factory.operator(list(tenant.sites))
    return caller, ticket, operator


def targeted_bodies(ticket: str) -> list[tuple[str, str, bytes]]:
    """Bodies that are valid JSON and reach the database layer unless screened."""
    return [
        ("POST", "/v1/comments", ('{"requestId": "%s", "comment": "nul \\u0000 here"}' % ticket).encode()),
        ("POST", "/v1/comments", ('{"requestId": "%s", "comment": "lone \\ud800 surrogate"}' % ticket).encode()),
        ("PUT", f"/v1/facility-access/access-tickets/{ticket}", b'{"visitorPhone": "\\u0000"}'),
        ("POST", "/oauth2/v1/token", b'{"client_id": "a\\u0000", "client_secret": "b", "grant_type": "client_credentials"}'),
    ]


def json_endpoints(ticket: str) -> list[tuple[str, str, str]]:
    """(method, path, who) for every endpoint that reads a JSON body."""
    return [
        ("POST", "/v1/facility-access/visitors/access-requests", "customer"),
        ("PUT", f"/v1/facility-access/access-tickets/{ticket}", "customer"),
        ("PUT", f"/v1/facility-access/access-tickets/{ticket}/cancel", "customer"),
        ("PUT", f"/v1/facility-access/access-tickets/{ticket}/deny", "customer"),
        ("POST", "/v1/comments", "customer"),
        ("POST", "/oauth2/v1/token", "anyone"),
        ("PUT", f"/ops/v1/access-tickets/{ticket}/check-in", "operator"),
        ("POST", f"/ops/v1/access-tickets/{ticket}/comments", "operator"),
    ]


def assert_envelope(r, label):  # type: ignore[no-untyped-def]
    assert 400 <= r.status_code < 500, (label, r.status_code, r.text[:300])
    body = r.json()
    err = body["error"]
    assert set(err) == {"correlationId", "type", "code", "message", "details"}, label
    assert err["type"] == "client" and err["code"] and err["message"], label
    assert r.headers["x-correlation-id"] == err["correlationId"], label


async def test_corpus(world, client):
    caller, ticket, operator = world
    headers = {"customer": caller.headers, "operator": operator.token_headers, "anyone": {}}
    sent = 0
    for method, path, who in json_endpoints(ticket):
        for label, raw in MALFORMED_JSON:
            if path.endswith("/cancel") and label in ("empty", "whitespace"):
                continue  # cancel's body is optional by design: an empty one cancels
            strict = {"Gatehouse-Strict": "true"} if label in STRICT_ONLY else {}
            r = await client.request(method, path, content=raw,
                                     headers={**headers[who], "Content-Type": "application/json", **strict})
            assert_envelope(r, (label, method, path))  # (by default they are ignored: test_tolerant_reader.py)
            sent += 1
        for ctype in CONTENT_TYPES:
            r = await client.request(method, path, content=b"a=b",
                                     headers={**headers[who], "Content-Type": ctype})
            assert_envelope(r, (ctype, method, path))
            sent += 1
    for method, path, raw in targeted_bodies(ticket):
        r = await client.request(method, path, content=raw, headers={**caller.headers,
                                                                     "Content-Type": "application/json"})
        assert_envelope(r, (method, path, raw))
        sent += 1
    r = await client.post("/v2/auth/token", data={"grant_type": "client_credentials", "client_id": "a\x00",
                                                   "client_secret": "b"})
    assert_envelope(r, "nul client id")
    id_templates = [
        ("GET", "/v1/facility-access/access-tickets/{}"), ("PUT", "/v1/facility-access/access-tickets/{}/cancel"),
        ("GET", "/v1/attachments/{}"), ("DELETE", "/v1/attachments/{}"), ("GET", "/v1/attachments/{}/file"),
        ("GET", "/v1/attachments/" + ticket + "/file/{}"), ("GET", "/ops/v1/access-tickets/{}"),
    ]
    for method, template in id_templates:
        for bad in BAD_IDS:
            who = "operator" if template.startswith("/ops") else "customer"
            r = await client.request(method, template.format(bad), headers=headers[who])
            assert_envelope(r, (method, template, bad))
            sent += 1
    queries = ["size=0", "size=1e3", "page=-5", "page=99999999999999999999", "status=%00", "site=" + "A" * 5000,
               "createdBy=" + "x" * 20_000, "size=25&size=abc", "stauts=Approved", "%ZZ=1"]
    for q in queries:  # strict: an unknown parameter (stauts) is refused only there
        r = await client.get(f"/v1/facility-access/visitors?{q}", headers={**caller.headers, "Gatehouse-Strict": "true"})
        assert_envelope(r, q)
        sent += 1
    header_cases = [
        {"Authorization": "Bearer " + "x" * 10_000},
        {**caller.headers, "Account-Id": "A" * 10_000},
        {**caller.headers, "Master-Account-Id": ""},
        {**caller.headers, "Idempotency-Key": "k" * 300},
        {"Authorization": "Bearer \t"},
        {"Authorization": "Digest abc"},
    ]
    for h in header_cases:
        r = await client.post("/v1/facility-access/visitors/access-requests", json=[{}], headers=h)
        assert_envelope(r, list(h))
        sent += 1
    multipart_cases = [
        ("multipart/form-data", b"--x\r\n"),
        ("multipart/form-data; boundary=", b""),
        ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: form-data; name=\"file\"; "
                                              b"filename=\"a.pdf\"\r\n\r\n%PDF-"),  # truncated
        ("multipart/form-data; boundary=abc", b"not multipart at all"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: form-data; name=\"file\"; "
                                              b"filename=\"../../../etc/passwd\"\r\n\r\nroot:x\r\n--abc--\r\n"),
        ("multipart/form-data; boundary=abc", b"--abc\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
                                              b"report.pdf\r\n--abc--\r\n"),
        ("multipart/form-data; boundary=abc", b"--abc\r\n" + b"X-Header: y\r\n" * 200 + b"\r\n\r\n--abc--\r\n"),
        ("application/json", b"{}"),
    ]
    for ctype, raw in multipart_cases:
        for file_name in ("a.pdf", "..\\..\\evil.exe", "a\x01b.pdf", "x" * 300 + ".pdf"):
            r = await client.post("/v1/attachments", params={"requestId": ticket, "file_name": file_name},
                                  content=raw, headers={**caller.headers, "Content-Type": ctype})
            assert_envelope(r, (ctype, file_name))
            sent += 1
        r = await client.post("/v1/attachments/file", content=raw, headers={**caller.token_headers,
                                                                            "Content-Type": ctype})
        assert_envelope(r, ("staged", ctype))
        sent += 1
    for method in ("PATCH", "TRACE", "PROPFIND"):
        r = await client.request(method, f"/v1/facility-access/access-tickets/{ticket}", headers=caller.headers)
        assert_envelope(r, method)
        sent += 1
    r = await client.post("/v2/auth/token", content=b"client_id=%ZZ&&&==&grant_type",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_envelope(r, "form")
    sent += 1
    assert sent >= 200, sent
    assert (await client.get("/healthz")).status_code == 200
    # nothing the corpus sent changed the ticket
    d = (await client.get(f"/v1/facility-access/access-tickets/{ticket}", headers=caller.headers)).json()
    assert d["ticketStatus"] == "Pending Approval" and d["comments"] == []



