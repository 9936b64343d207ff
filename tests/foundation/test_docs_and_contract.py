"""Issue 15: the OpenAPI document is valid and names its operations for generated clients; /docs
works offline in a real browser; 405 names what is allowed."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from openapi_spec_validator import validate

from gatehouse.kit.openapi import OPERATION_IDS
from tests.harness.test_attack_defects import real_server


def test_openapi_document_is_valid_and_operations_have_short_stable_ids(app):
    spec = app.openapi()
    validate(spec)  # openapi-spec-validator
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][A-Za-z0-9]+", i) for i in ids), [i for i in ids if "_" in i]
    listed = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    named_elsewhere = {k for k in listed if "webhooks" in k[1]}  # named where the routes are built
    assert listed - named_elsewhere == set(OPERATION_IDS), "name every new operation in kit/openapi.py"
    assert spec["paths"]["/v1/facility-access/access-tickets/{ticketId}"]["get"]["operationId"] == "getAccessTicket"


def test_each_operation_is_listed_once_and_the_description_names_no_file(app):
    doc = app.openapi()
    assert doc["paths"]["/v1/accounts"]["get"]["tags"] == ["Accounts"]
    assert "shared/" not in doc["info"]["description"] and "seeds" not in doc["info"]["description"]


async def test_the_favicon_and_the_redoc_bundle_are_gatehouses_own(client):
    r = await client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon" and r.content[:4] == b"\0\0\1\0"
    r = await client.get("/static-offline-docs/redoc.standalone.js")
    assert r.status_code == 200 and b"https://cdn" not in r.content and b"/favicon.ico" in r.content


async def test_405_names_the_allowed_methods(client):
    for method, path, allowed in (("PATCH", "/healthz", "GET"), ("GET", "/v1/comments", "POST"),
                                  ("PUT", "/v1/webhooks/x", "DELETE, GET, PATCH")):
        r = await client.request(method, path)
        assert r.status_code == 405 and r.headers["allow"] == allowed, (method, path, r.headers.get("allow"))
        assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_docs_pages_need_nothing_from_the_internet(client):
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        refs = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
        assert refs and all(ref.startswith("/") for ref in refs), refs
        for ref in refs:
            assert (await client.get(ref)).status_code == 200, ref


@pytest.mark.skipif(not shutil.which("chromium") and not os.environ.get("CI"),
                    reason="Debian chromium is installed by scripts/test.sh (never skipped in CI)")
async def test_docs_render_in_chromium_offline(settings, tmp_path):
    from playwright.async_api import async_playwright

    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 800})
                outside: list[str] = []

                async def only_local(route):  # type: ignore[no-untyped-def]
                    if route.request.url.startswith(base):
                        await route.continue_()
                    else:  # offline: anything else fails, and is noted
                        outside.append(route.request.url)
                        await route.abort()

                await page.route("**/*", only_local)
                errors: list[str] = []  # a request the CSP refuses shows only here
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                await page.goto(f"{base}/docs")
                await page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
                assert "Gatehouse" in await page.inner_text(".swagger-ui .info .title")
                await page.wait_for_selector(".opblock", timeout=10_000)
                assert await page.locator(".opblock").count() >= 40  # every operation is listed
                await page.screenshot(path=str(tmp_path / "docs.png"))
                await page.goto(f"{base}/redoc")
                await page.wait_for_selector("text=Gatehouse", timeout=20_000)
                await page.wait_for_timeout(500)
                assert outside == [] and errors == [], (outside, errors)
            finally:
                await browser.close()
