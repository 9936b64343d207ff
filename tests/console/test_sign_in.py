"""Console sign-in against real server processes (issue 20: 2, 7, 9): the lock-out is the one client
secrets use, atomic across processes; an unknown email is answered exactly as a known one; the
form carries a CSRF token (a post with neither Origin nor token signs nobody in)."""

from __future__ import annotations

import asyncio

import httpx

from gatehouse.accounts import service as accounts
from gatehouse.console.auth import set_password
from tests.console.signin import form_token, sign_in
from tests.harness.test_crash_safety import start_server
from tests.net import free_port

PASSWORD = "correct horse battery"


async def _person(factory, db, email: str):  # type: ignore[no-untyped-def]
    tenant = await factory.tenant()
    site = next(iter(tenant.sites))
    op = await factory.operator([site])
    async with db.write() as s:
        await accounts.set_email(s, op.name, email)
    await set_password(db, op.name, PASSWORD)
    return op


async def test_sixty_wrong_passwords_over_three_processes_check_at_most_five(settings, factory, db):
    known = f"burst.{free_port()}@operator.example"
    await _person(factory, db, known)
    unknown = f"nobody.{free_port()}@operator.example"
    ports = [free_port() for _ in range(3)]
    procs = await asyncio.gather(*(asyncio.to_thread(start_server, settings, p) for p in ports))
    try:
        async with httpx.AsyncClient(timeout=60) as c:
            c.base_url = httpx.URL(f"http://127.0.0.1:{ports[0]}")
            token = await form_token(c)

            async def burst(email: str) -> list[int]:
                async def one(i: int) -> int:
                    r = await c.post(f"http://127.0.0.1:{ports[i % 3]}/console/login",
                                     data={"email": email, "password": "wrong password", "csrf": token})
                    return r.status_code
                return list(await asyncio.gather(*(one(i) for i in range(60))))

            for email in (known, unknown):
                codes = await burst(email)
                # at most five checked; every other attempt refused. (CI twice saw a 503 DATABASE_BUSY
                # here: three processes' pools grew past PostgreSQL's connection limit for a moment;
                # a new connection is now asked for again, kit/connlost.waiting_connect)
                assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 60, \
                    (email, sorted(set(codes)), codes)
                # locked now: even the right password is refused, with the same answer for both
                r = await c.post(f"http://127.0.0.1:{ports[1]}/console/login",
                                 data={"email": email, "password": PASSWORD, "csrf": token})
                assert r.status_code == 429 and int(r.headers["retry-after"]) > 800, (email, r.status_code)
                assert "Too many failed sign-ins" in r.text
    finally:
        for p in procs:
            p.kill()
            p.wait()


async def test_a_known_and_an_unknown_email_get_the_same_answers(settings, factory, db):
    known = f"same.{free_port()}@operator.example"
    await _person(factory, db, known)
    unknown = f"ghost.{free_port()}@operator.example"
    port = free_port()
    proc = await asyncio.to_thread(start_server, settings, port)
    try:
        seen = {}
        for email in (known, unknown):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
                replies = [await sign_in(c, email, "wrong password") for _ in range(7)]
                seen[email] = [(r.status_code, r.headers.get("retry-after") is not None) for r in replies]
        assert seen[known] == seen[unknown] == [(401, False)] * 5 + [(429, True)] * 2
    finally:
        proc.kill()
        proc.wait()


async def test_the_sign_in_form_needs_its_csrf_token(settings, factory, db):
    email = f"csrf.{free_port()}@operator.example"
    await _person(factory, db, email)
    port = free_port()
    proc = await asyncio.to_thread(start_server, settings, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            # no Origin, no Referer, no token: a forged cross-site form (login CSRF) signs nobody in
            r = await c.post("/console/login", data={"email": email, "password": PASSWORD})
            assert r.status_code == 403 and "gh_console" not in r.headers.get("set-cookie", "")
            token = await form_token(c)
            r = await c.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": token + "x"})
            assert r.status_code == 403
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            r = await c.post("/console/login", data={"email": email, "password": PASSWORD, "csrf": token})
            assert r.status_code == 403  # the token without the cookie it was issued with
            r = await sign_in(c, email, PASSWORD)
            assert r.status_code == 303 and c.cookies.get("gh_console")
    finally:
        proc.kill()
        proc.wait()
