"""OpenID Connect sign-in (SPEC §16; issue 25) against a real provider — npm's oidc-provider on
Node, started here — never a mock: the code flow with PKCE through Chromium, and the refusals (a bad
state, a replayed answer, a bad nonce, an unverified or unknown email). The ID token's claim checks
(expiry, audience, signature) are tested on tokens signed with keys made here."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select, update

from gatehouse.accounts import service as accounts
from gatehouse.accounts.models import User
from gatehouse.sso.models import SsoLogin
from gatehouse.sso.service import SsoRefused, set_provider, verify_id_token
from tests.console.test_desk import _browser, shots  # noqa: F401
from tests.factories import rand
from tests.harness.test_attack_defects import real_server
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
OIDC = ROOT / ".tools" / "oidc"  # scripts/test.sh installs oidc-provider here (npm, Debian's Node.js)
needs_provider = pytest.mark.skipif(
    not (OIDC / "node_modules" / "oidc-provider").exists() and not os.environ.get("CI"),
    reason="scripts/test.sh installs npm's oidc-provider (never skipped in CI)")


class Provider:
    def __init__(self, redirect_uri: str, same_as: Provider | None = None) -> None:
        """`same_as`: the same provider started again (same address and client, new signing keys)."""
        self.port = same_as.port if same_as else free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id, self.client_secret = (same_as.client_id, same_as.client_secret) if same_as else (
            f"gatehouse-{rand(6)}", secrets.token_urlsafe(24))
        shutil.copy(Path(__file__).parent.parent / "oidc" / "provider.mjs", OIDC / "provider.mjs")
        self.proc = subprocess.Popen(["node", "provider.mjs", str(self.port), self.client_id, self.client_secret,
                                      redirect_uri], cwd=OIDC, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.proc.kill()
        raise AssertionError(self.proc.stdout.read().decode() if self.proc.stdout else "no provider")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)


async def _sign_in_at_provider(page, login: str):  # type: ignore[no-untyped-def]
    """The provider's own (development) screens: a login, then consent."""
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "anything")
    await page.click("button[type=submit]")
    if await page.locator("button[type=submit]:has-text('Continue')").count():
        await page.click("button[type=submit]:has-text('Continue')")


@needs_provider
async def test_people_sign_in_with_their_identity_provider(settings, factory, db, shots):  # noqa: F811
    from playwright.async_api import async_playwright

    tenant = await factory.tenant()
    user = next(iter(tenant.users.values()))
    email = f"sso.{tenant.account_id.lower()}@idp.example"
    async with db.write() as s:
        await accounts.set_email(s, user.name, email)
    sso_settings = settings.model_copy(update={"sso_allow_private": True})
    with real_server(sso_settings) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        idp = Provider(f"{base}/console/sso/callback")
        try:
            async with db.write() as s:
                await set_provider(s, tenant.master_account_id, name="<i>Acme</i> IdP", issuer=idp.issuer,
                                   client_id=idp.client_id, client_secret=idp.client_secret, allow_private=True)
            async with async_playwright() as pw:
                browser = await _browser(pw)
                try:
                    page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
                    outside: list[str] = []

                    async def only_here(route):  # type: ignore[no-untyped-def]  # Gatehouse and the provider
                        if route.request.url.startswith((base, idp.issuer)):
                            await route.continue_()
                        else:  # the provider's development screens load web fonts: theirs, not ours
                            if route.request.frame.url.startswith(base):
                                outside.append(route.request.url)
                            await route.abort()

                    await page.route("**/*", only_here)
                    await page.goto(f"{base}/console/login?sso={tenant.master_account_id}")
                    await page.screenshot(path=str(shots / "sso-01-login.png"), full_page=True)
                    await page.click("text=Sign in with <i>Acme</i> IdP")  # escaped: read as typed
                    await page.wait_for_url(f"{idp.issuer}/**")
                    await _sign_in_at_provider(page, email)
                    await page.wait_for_url(f"{base}/console/a/**")
                    assert user.name in await page.inner_text("header")
                    await page.screenshot(path=str(shots / "sso-02-signed-in.png"), full_page=True)
                    assert outside == []

                    # a bad nonce: the sign-in's nonce changed before the provider answers
                    page2 = await (await browser.new_context()).new_page()
                    await page2.goto(f"{base}/console/sso/{tenant.master_account_id}/start")
                    await page2.wait_for_url(f"{idp.issuer}/**")
                    async with db.write() as s:
                        await s.execute(update(SsoLogin).values(nonce="not-the-one-sent"))
                    await _sign_in_at_provider(page2, email)
                    await page2.wait_for_url(f"{base}/console/sso/callback**")
                    assert "nonce" in (await page2.inner_text("main")).lower()
                    replay = page2.url

                    # an email the provider has not verified, and an unknown one, sign no one in
                    for login, said in ((f"unverified:{email}", "not verified"),
                                        (f"nobody.{rand(5).lower()}@idp.example", "may sign in here")):
                        page3 = await (await browser.new_context()).new_page()
                        await page3.goto(f"{base}/console/sso/{tenant.master_account_id}/start")
                        await page3.wait_for_url(f"{idp.issuer}/**")
                        await _sign_in_at_provider(page3, login)
                        await page3.wait_for_url(f"{base}/console/sso/callback**")
                        assert said in await page3.inner_text("main")
                finally:
                    await browser.close()
            async with httpx.AsyncClient(base_url=base) as c:
                r = await c.get("/console/sso/callback", params={"state": "made-up", "code": "x"})
                assert r.status_code == 401 and "state" in r.text  # a bad state
                r = await c.get(replay.removeprefix(base))
                assert r.status_code == 401 and "state" in r.text  # an answer used once
                r = await c.get("/console/sso/NOPE/start")
                assert r.status_code == 404
            # creation on first sign-in, when the provider opts in
            async with db.write() as s:
                await set_provider(s, tenant.master_account_id, name="Acme IdP", issuer=idp.issuer,
                                   client_id=idp.client_id, client_secret=idp.client_secret, create_users=True,
                                   allow_private=True)
            newcomer = f"first.{rand(5).lower()}@idp.example"
            async with async_playwright() as pw:
                browser = await _browser(pw)
                try:
                    page = await (await browser.new_context()).new_page()
                    await page.goto(f"{base}/console/login?sso={tenant.master_account_id}")
                    await page.click("text=Sign in with Acme IdP")
                    await page.wait_for_url(f"{idp.issuer}/**")
                    await _sign_in_at_provider(page, newcomer)
                    await page.wait_for_url(f"{base}/console/**")
                finally:
                    await browser.close()
            async with db.read() as s:
                made = (await s.execute(select(User).where(User.email == newcomer))).scalar_one()
            assert made.master_account_id == tenant.master_account_id and made.kind == "customer"
            # the provider's keys rotate (it starts again with new ones): Gatehouse fetches them again
            idp.stop()
            idp = Provider(f"{base}/console/sso/callback", same_as=idp)
            async with async_playwright() as pw:
                browser = await _browser(pw)
                try:
                    page = await (await browser.new_context()).new_page()
                    await page.goto(f"{base}/console/sso/{tenant.master_account_id}/start")
                    await page.wait_for_url(f"{idp.issuer}/**")
                    await _sign_in_at_provider(page, email)
                    await page.wait_for_url(f"{base}/console/a/**")
                finally:
                    await browser.close()
        finally:
            idp.stop()


def _token(key: RSAKey, **claims) -> str:  # type: ignore[no-untyped-def]
    now = int(time.time())
    body = {"iss": "https://idp.example", "aud": "gatehouse", "sub": "1", "iat": now, "exp": now + 300,
            "nonce": "n1", "email": "a@b.example", "email_verified": True, **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


def test_the_id_tokens_claims_are_checked():
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    keys = KeySet([key])
    check = dict(issuer="https://idp.example", client_id="gatehouse", nonce="n1")
    assert verify_id_token(_token(key), keys, **check)["email"] == "a@b.example"
    now = int(time.time())
    for bad, said in (({"exp": now - 3600, "iat": now - 7200}, "exp"), ({"aud": "another-client"}, "aud"),
                      ({"nonce": "n2"}, "nonce"), ({"iss": "https://evil.example"}, "iss")):
        with pytest.raises(SsoRefused) as refused:
            verify_id_token(_token(key, **bad), keys, **check)
        assert said in str(refused.value), str(refused.value)
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same key id, another key: a forgery
    with pytest.raises(SsoRefused, match="signature"):
        verify_id_token(_token(other), keys, **check)


async def test_a_flood_of_sign_in_starts_meets_429(client):
    """Anyone may start a sign-in or call back, and each writes a row: from one address, a minute's
    allowance, then 429 with Retry-After (the callback shares it), and a person's page says why."""
    from gatehouse.console.pages import sso as sso_pages

    sso_pages.calls.hits.clear()
    try:
        answers = [(await client.get("/console/sso/NOPE/start")).status_code for _ in range(sso_pages.PER_ADDRESS)]
        assert answers == [404] * sso_pages.PER_ADDRESS  # counted before the provider is looked up
        r = await client.get("/console/sso/NOPE/start")
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 61
        assert "Too many single sign-on attempts" in r.text
        r = await client.get("/console/sso/callback", params={"state": "made-up", "code": "x"})
        assert r.status_code == 429
    finally:
        sso_pages.calls.hits.clear()  # the other tests of this process share the allowance
