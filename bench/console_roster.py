"""SPEC §7: the desk roster for a site with 500 tickets today, p99 at 8 concurrent users (target
<= 150 ms), with wrk. Usage: python -m bench.console_roster [--db sqlite|postgres|both]."""

from __future__ import annotations

import argparse
import json

import httpx

from bench.__main__ import free_port, serve, uvicorn_args
from bench.world import analyze, demo_world, drop_world, server_env
from bench.wrk import run as wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="py-spy records the server under the load "
                        "(bench.profile's report; stacks in bench/results)")
    args = parser.parse_args()
    for kind in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        print(figure(kind, args.pg, args.tickets, args.profile), flush=True)


def figure(kind: str, pg: str, tickets: int, profile: bool = False) -> str:
    from gatehouse.kit.sitetime import site_today

    settings, data, creds = demo_world(kind, pg, "roster")
    port = free_port()
    env = server_env(settings, data)
    proc = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), env, port, "/healthz")
    base = f"http://127.0.0.1:{port}"
    try:
        ru = creds["Random User"]
        token = httpx.post(f"{base}/v2/auth/token", data={"grant_type": "client_credentials", "client_id": ru.client_id,
                                                          "client_secret": ru.client_secret}).json()["access_token"]
        h = {"Authorization": f"Bearer {token}", "Master-Account-Id": "100123", "Account-Id": "0011A00001AaAB1ABC"}
        today = site_today("America/New_York").isoformat()
        made = 0
        while made < tickets:
            visitors = [{"visitorFirstName": f"V{made + i}", "visitorLastName": "Bench",
                         "visitorEmail": f"v{made + i}@bench.example", "visitorPhone": "1"} for i in range(10)]
            body = [{"visitors": visitors, "sites": [{"site": "IAD024", "locations": [
                {"location": "ABC Cage F150-B", "accessStartDate": today, "accessEndDate": today}]}],
                "visitorType": True, "escortFirstName": "Jane", "escortLastName": "Doe",
                "visitorHostFirstName": "John", "visitorHostLastName": "Doe", "visitorHostCompany": "ABC",
                "visitorBadgeStartDate": today, "visitorBadgeEndDate": today, "company": "Bench Co",
                "isExtendedVisitorBadge": False, "isBulkRequest": False}]
            r = httpx.post(f"{base}/v1/facility-access/visitors/access-requests", json=body, headers=h, timeout=60)
            assert r.status_code == 200, r.text
            made += 10
        analyze(settings)
        guard = creds["Site Security IAD024"]
        with httpx.Client(base_url=base) as c:
            form = c.get("/console/login").text
            csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            r = c.post("/console/login", data={"email": guard.email, "password": guard.console_password, "csrf": csrf})
            assert r.status_code == 303, r.text
            cookie = f"gh_console={c.cookies.get('gh_console')}"
            page = c.get("/console/desk?site=IAD024")
            assert page.status_code == 200 and page.text.count("/console/desk/tickets/WO") >= tickets
        spec = {"url": f"{base}/console/desk?site=IAD024", "headers": {"Cookie": cookie}, "concurrency": 8,
                "duration": 5}
        if profile:
            record(proc.pid, spec, f"roster-{kind}")
        result = wrk(spec)
        return (f"  {kind:<8} console desk roster, {tickets} tickets today, 8 users: {result['rps']:.0f} pages/s, "
                f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (target <= 150 ms)  "
                f"{json.dumps({'errors': result['errors']})}")
    finally:
        proc.terminate()
        proc.wait()
        drop_world(settings, data, pg)


def record(pid: int, spec: dict, name: str) -> None:
    """py-spy over the server while wrk drives the page (a separate run from the figure's)."""
    import subprocess
    import sys
    import threading
    from datetime import datetime

    from bench.__main__ import RESULTS
    from bench.profile import report

    driver = threading.Thread(target=lambda: wrk({**spec, "duration": 12}))
    driver.start()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{name}-{datetime.now():%Y%m%d-%H%M%S}.txt"
    subprocess.run([sys.executable.rsplit("/", 1)[0] + "/py-spy", "record", "-p", str(pid), "-d", "10", "-r", "100",
                    "--nonblocking", "-f", "raw", "--threads", "-o", str(out)], check=True, capture_output=True)
    driver.join()
    print(f"stacks in {out}")
    report(out, 40)


if __name__ == "__main__":
    main()
