"""Signing in over plain HTTP as a browser does: open the form (its CSRF token and cookie), send it."""

from __future__ import annotations

import re

import httpx


async def form_token(c: httpx.AsyncClient) -> str:
    page = await c.get("/console/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def sign_in(c: httpx.AsyncClient, email: str, password: str, **extra: str) -> httpx.Response:
    return await c.post("/console/login", data={"email": email, "password": password, "csrf": await form_token(c),
                                                 **extra})


async def browser_sign_in(page, base: str, email: str, password: str, lands: str = "/console/desk**") -> None:  # type: ignore[no-untyped-def]
    """A person signing in at the console's form in Chromium, landing where their kind of account does."""
    await page.goto(f"{base}/console/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{lands}")
