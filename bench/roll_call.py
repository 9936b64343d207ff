"""SPEC §7: the roll call of a site with 5,000 people on site, p99 at 8 concurrent guards (target
<= 250 ms), with wrk: `/ops/v1/sites/IAD024/on-site` and the console page's own poll
(`/console/desk/roll-call.json`). Usage: python -m bench.roll_call [--db sqlite|postgres|both]."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime

import httpx

from bench.__main__ import free_port, serve, uvicorn_args
from bench.world import analyze, demo_world, drop_world, server_env
from bench.wrk import run as wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="py-spy records the server under each load")
    args = parser.parse_args()
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        print(figure(kind, args.pg, args.people, args.profile), flush=True)


def _on_site(kind: str, settings, data, people: int) -> None:  # type: ignore[no-untyped-def]
    """`people` tickets at IAD024, all checked in now (seeded straight into the tables)."""
    from sqlalchemy import select

    from bench.seed import seed_postgres, seed_sqlite
    from gatehouse.accounts.models import User
    from gatehouse.kit.db import Database
    from gatehouse.sites.models import Location

    async def ids() -> tuple[int, int]:
        db = Database(settings)
        try:
            async with db.read() as s:
                uid = (await s.execute(select(User.id).where(User.display_name == "Random User"))).scalar()
                lid = (await s.execute(select(Location.id).where(Location.name == "ABC Cage F150-B"))).scalar()
                return uid, lid
        finally:
            await db.dispose()

    uid, lid = asyncio.run(ids())
    now = datetime.utcnow().isoformat(sep=" ")
    if kind == "sqlite":
        import sqlite3

        seed_sqlite(str(data / "gatehouse.db"), people, uid, lid, 3_000_000)
        conn = sqlite3.connect(data / "gatehouse.db")
        conn.execute("UPDATE work_orders SET status = 'In Progress', checked_in_at = ?, closed_at = NULL", (now,))
        conn.commit()
        conn.close()
    else:
        import asyncpg

        url = settings.effective_database_url.replace("postgresql+asyncpg", "postgresql")

        async def pg() -> None:
            await seed_postgres(url, people, uid, lid, 3_000_000)
            conn = await asyncpg.connect(url)
            await conn.execute("UPDATE work_orders SET status = 'In Progress', checked_in_at = now() at time zone "
                               "'utc', closed_at = NULL")
            await conn.close()

        asyncio.run(pg())
    analyze(settings)  # after the update: the plan sees 5,000 people on site


def figure(kind: str, pg: str, people: int, profile: bool = False) -> str:
    settings, data, creds = demo_world(kind, pg, "rollcall")
    _on_site(kind, settings, data, people)
    port = free_port()
    proc = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), server_env(settings, data), port,
                 "/healthz")
    base = f"http://127.0.0.1:{port}"
    try:
        guard = creds["Site Security IAD024"]
        token = httpx.post(f"{base}/v2/auth/token", data={"grant_type": "client_credentials",
                                                          "client_id": guard.client_id,
                                                          "client_secret": guard.client_secret}).json()["access_token"]
        api = f"{base}/ops/v1/sites/IAD024/on-site"
        listed = httpx.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=60).json()
        assert len(listed) == people, len(listed)
        with httpx.Client(base_url=base) as c:
            form = c.get("/console/login").text
            csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            r = c.post("/console/login", data={"email": guard.email, "password": guard.console_password, "csrf": csrf})
            assert r.status_code == 303, r.text
            cookie = f"gh_console={c.cookies.get('gh_console')}"
        lines = []
        for name, spec in (("on-site API", {"url": api, "headers": {"Authorization": f"Bearer {token}"}}),
                           ("console poll", {"url": f"{base}/console/desk/roll-call.json?site=IAD024",
                                             "headers": {"Cookie": cookie}})):
            httpx.get(spec["url"], headers=spec["headers"], timeout=60)  # built once, as after any change
            if profile:
                from bench.console_roster import record

                record(proc.pid, {**spec, "concurrency": 8}, f"rollcall-{name.replace(' ', '-')}-{kind}")
            result = wrk({**spec, "concurrency": 8, "duration": 5})
            lines.append(f"  {kind:<8} roll call, {people:,} on site, {name}, 8 guards: {result['rps']:.1f} req/s, "
                         f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (target <= 250 ms)  "
                         f"{json.dumps({'errors': result['errors']})}")
        return "\n".join(lines)
    finally:
        proc.terminate()
        proc.wait()
        drop_world(settings, data, pg)


if __name__ == "__main__":
    main()
