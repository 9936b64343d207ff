"""SPEC §1 wire conventions common to every endpoint."""

from __future__ import annotations

import uuid


async def test_unknown_route_and_method_use_envelope(client):
    r = await client.get("/v1/does-not-exist")
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["type"] == "client" and err["code"] == "NOT_FOUND"
    uuid.UUID(err["correlationId"])
    r = await client.delete("/v1/accounts")
    assert r.status_code == 405 and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_correlation_id_echo_and_replace(client):
    r = await client.get("/healthz", headers={"X-Correlation-Id": "abc.DEF_123-x"})
    assert r.headers["x-correlation-id"] == "abc.DEF_123-x"
    r = await client.get("/healthz", headers={"X-Correlation-Id": "bad id with spaces"})
    uuid.UUID(r.headers["x-correlation-id"])
    r = await client.get("/healthz", headers={"X-Correlation-Id": "a" * 65})
    uuid.UUID(r.headers["x-correlation-id"])
    r = await client.get("/nope", headers={"X-Correlation-Id": "trace-1"})
    assert r.json()["error"]["correlationId"] == "trace-1"


async def test_malformed_json_names_line_column_and_character(client):
    body = '{\n\u00a0 "client_id": "a"}'.encode()
    r = await client.post("/oauth2/v1/token", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] == "MALFORMED_JSON"
    assert "line 2, column 1" in err["message"]
    assert "U+00A0 NO-BREAK SPACE" in err["message"]


async def test_json_body_limits(client):
    big = b'{"client_id": "' + b"a" * (1024 * 1024) + b'"}'
    r = await client.post("/oauth2/v1/token", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["type"] == "client"
    r = await client.post("/oauth2/v1/token", content=b"[" * 100000, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = await client.post("/oauth2/v1/token", content=b"\xff\xfe", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "MALFORMED_JSON"
    r = await client.post("/oauth2/v1/token", content=b"a=b", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


async def test_strict_types(client):
    r = await client.post("/oauth2/v1/token", json={"client_id": 1, "client_secret": True,
                                                     "grant_type": "client_credentials"})
    assert r.status_code == 400
    details = {d["field"]: d["code"] for d in r.json()["error"]["details"]}
    assert details == {"client_id": "INVALID_TYPE", "client_secret": "INVALID_TYPE"}


async def test_openapi_documents_everything(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/v2/auth/token" in spec["paths"]
    op = spec["paths"]["/v1/sites"]["get"]
    assert {"400", "401", "403"} <= set(op["responses"])
    params = {p["name"] for p in op["parameters"]}
    assert {"Master-Account-Id", "Account-Id"} <= params
    assert "ErrorEnvelope" in spec["components"]["schemas"]
    assert (await client.get("/docs")).status_code == 200
