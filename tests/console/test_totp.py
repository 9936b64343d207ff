"""The console's second factor (SPEC §16; issue 25 in part): enrolled in Chromium from the QR page's
key and a code computed as an authenticator app would, asked after the password, a recovery code
working once, wrong codes counted in the sign-in lock-out."""

from __future__ import annotations

import re
import time

import httpx
import pyotp

from sqlalchemy import select

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import User
from gatehouse.console.models import TotpFactor
from gatehouse.console.auth import set_password
from tests.console.signin import browser_sign_in
from tests.console.test_desk import PASSWORD, _browser, _offline, pytestmark, shots  # noqa: F401
from tests.harness.test_attack_defects import real_server


async def test_enrol_then_sign_in_with_a_code_and_a_recovery_code(settings, factory, db, client, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant()
    person = next(iter(tenant.users.values()))
    email = f"totp.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, person.name, email)
    await set_password(db, person.name, PASSWORD)
    with real_server(settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with async_playwright() as pw:
            browser = await _browser(pw)
            try:
                page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
                outside = await _offline(page, base)
                await browser_sign_in(page, base, email, PASSWORD, lands="/console/a/**")
                await page.goto(f"{base}/console/totp")
                secret = await page.inner_text("#totp-secret")
                await page.fill("#totp-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
                await page.click("text=Turn on")
                assert "does not match" in await page.inner_text("[role=alert]")
                secret = await page.inner_text("#totp-secret")
                await page.fill("#totp-code", pyotp.TOTP(secret).now())
                await page.click("text=Turn on")
                codes = [c.strip() for c in await page.locator("ul.codes code").all_inner_texts()]
                assert len(codes) == 10 and len(set(codes)) == 10
                await page.screenshot(path=str(shots / "totp-01-codes.png"), full_page=True)
                assert outside == []
            finally:
                await browser.close()
    # a new sign-in: the password opens nothing until the code; a recovery code works once
    transport = httpx.ASGITransport(app=_app)

    async def sign_in(c: httpx.AsyncClient) -> str:
        form = await c.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        r = await c.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login/code"), r.headers
        assert (await c.get("/console/")).status_code in (302, 303)  # nothing opens yet
        return token

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        token = await sign_in(c)
        r = await c.post("/console/login/code", data={"code": "123456", "csrf": token, "next": "/console/"})
        assert r.status_code == 401
        r = await c.post("/console/login/code", data={"code": codes[0], "csrf": token, "next": "/console/"})
        assert r.status_code == 303 and (await c.get("/console/")).status_code in (200, 303)
        page = await c.get(r.headers["location"], follow_redirects=True)
        assert page.status_code == 200 and "Sign in" not in page.text[:2000]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        token = await sign_in(c)
        r = await c.post("/console/login/code", data={"code": codes[0], "csrf": token, "next": "/console/"})
        assert r.status_code == 401  # used once already
        async with db.read() as s:
            user_id = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
            factor = await s.get(TotpFactor, user_id)
        # the app's code of the next half-minute (a clock a little ahead is allowed): a step never used
        r = await c.post("/console/login/code", data={"code": pyotp.TOTP(factor.secret).at(time.time() + 30),
                                                      "csrf": token, "next": "/console/"})
        assert r.status_code == 303, r.text
        again = await c.post("/console/login/code", data={"code": pyotp.TOTP(factor.secret).at(time.time() + 30),
                                                          "csrf": token, "next": "/console/"})
        assert again.status_code == 401  # the session is whole now; a code is never taken twice


async def test_wrong_codes_count_in_the_sign_in_lock_out(settings, factory, db, app):
    from gatehouse.console import totp

    tenant = await factory.tenant()
    person = next(iter(tenant.users.values()))
    email = f"lock.{tenant.account_id.lower()}@customer.example"
    async with db.write() as s:
        await accounts.set_email(s, person.name, email)
        user_id = (await s.execute(select(User.id).where(User.email == email))).scalar_one()
    await set_password(db, person.name, PASSWORD)
    secret = totp.new_secret()
    await totp.enrol(db, user_id, secret, pyotp.TOTP(secret).now())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        form = await c.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert (await c.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": token})
                ).status_code == 303
        answers = [(await c.post("/console/login/code", data={"code": "000001", "csrf": token})).status_code
                   for _ in range(settings.lockout_failures + 1)]
        assert answers[-1] == 429 and set(answers[:settings.lockout_failures]) == {401}
        r = await c.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": token})
        assert r.status_code == 429  # the password is locked out with the codes: one lock-out
