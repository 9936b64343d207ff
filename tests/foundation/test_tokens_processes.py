"""The token endpoint's lock-out and revocation hold across server processes (issue 26's "done
when"): each process keeps its own token cache and counts nothing itself, so three real
`gatehouse serve` processes on one database are what a deployment with workers looks like."""

from __future__ import annotations

import asyncio

import httpx

from gatehouse.auth import service as auth
from tests.harness.test_crash_safety import start_server
from tests.net import free_port


async def test_lock_out_burst_and_revocation_over_three_processes(settings, factory, db):
    victim = next(iter((await factory.tenant()).users.values()))  # the client under attack
    fleet = next(iter((await factory.tenant()).users.values()))  # a client whose workers all start at once
    ports = [free_port() for _ in range(3)]
    procs = await asyncio.gather(*(asyncio.to_thread(start_server, settings, p) for p in ports))
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        async with httpx.AsyncClient(timeout=60) as c:
            # sixty wrong secrets spread over the three: at most five are checked, the rest refused
            bad = {"grant_type": "client_credentials", "client_id": victim.client_id, "client_secret": "wrong"}
            codes = [r.status_code for r in await asyncio.gather(
                *(c.post(f"{bases[i % 3]}/v2/auth/token", data=bad) for i in range(60)))]
            assert codes.count(401) <= 5 and codes.count(401) + codes.count(429) == 60, codes
            # locked in every process, even for the right secret
            for base in bases:
                r = await c.post(f"{base}/v2/auth/token", data={**bad, "client_secret": victim.client_secret})
                assert r.status_code == 429 and int(r.headers["retry-after"]) > 800, (base, r.status_code)

            # a fleet of twenty workers starting at once, over the three: every one gets its token
            good = {"grant_type": "client_credentials", "client_id": fleet.client_id,
                    "client_secret": fleet.client_secret}
            replies = await asyncio.gather(*(c.post(f"{bases[i % 3]}/v2/auth/token", data=good) for i in range(20)))
            assert [r.status_code for r in replies] == [200] * 20, [r.text[:200] for r in replies]

            # a token each process has seen (and cached) is refused by all three within a second of
            # the rotation that revokes it, whichever process it is then sent to
            headers = {"Authorization": f"Bearer {replies[0].json()['access_token']}"}
            for base in bases:
                assert (await c.get(f"{base}/v1/accounts", headers=headers)).status_code == 200
            async with db.write() as s:
                await auth.rotate_secret(s, fleet.client_id)
            await asyncio.sleep(1.0)
            for base in bases:
                r = await c.get(f"{base}/v1/accounts", headers=headers)
                assert r.status_code == 401, (base, r.status_code)
    finally:
        for p in procs:
            p.kill()
            p.wait()
