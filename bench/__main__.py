"""`python -m bench`: every SPEC §7 figure on SQLite and PostgreSQL, each beside a baseline
measured in the same run, printed as a table and written to bench/results/<time>.json.

Servers run as separate processes (uvicorn, one worker, same settings for Gatehouse and the bare
baseline); the load comes from another process over loopback, bounded in time and count. Every
figure is the median of --repeats runs."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ACCOUNT_HEADERS = {"Master-Account-Id": "100123", "Account-Id": "0011A00001AaAB1ABC"}
MiB = 1024 * 1024
DETAIL_WO = "WO1000001"  # the first seeded ticket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def serve(args: list[str], env: dict, port: int, health: str, cpus: str | None = None) -> subprocess.Popen:
    """`cpus`: pin the server to these cores (taskset), so that a figure is the server's alone."""
    if cpus:
        args = ["taskset", "-c", cpus, *args]
    proc = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}{health}", proc)
    return proc


def uvicorn_args(app: str, port: int, factory: bool = False) -> list[str]:
    # identical server settings for Gatehouse and the baseline
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-access-log"]
    return args + (["--factory"] if factory else [])


def load(spec: dict) -> dict:
    """Every figure's load comes from wrk in its own process (bench/wrk.py), uploads included."""
    from bench.wrk import run as wrk_run

    return wrk_run(spec)


def warm_up(url: str, headers: dict) -> None:
    """A server just started has cold caches and pools: a short unmeasured load first."""
    load({"url": url, "headers": headers, "concurrency": 16, "duration": 2})


def median_of(repeats: int, spec: dict) -> dict:
    runs = [load(spec) for _ in range(repeats)]
    return {"rps": statistics.median(r["rps"] for r in runs), "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p99_ms": statistics.median(r["p99_ms"] for r in runs), "requests": sum(r["requests"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "statuses": {k: sum(r["statuses"].get(k, 0) for r in runs) for r in runs for k in r["statuses"]}}


class Env:
    """One database flavour: data dir, URL, the demo world and seeded tickets."""

    def __init__(self, kind: str, pg_admin: str) -> None:
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"gh-bench-{kind}-"))
        self.pg_admin = pg_admin
        self.pg_name = None
        if kind == "sqlite":
            self.url = f"sqlite:///{self.dir / 'gatehouse.db'}"
        else:
            import asyncpg

            self.pg_name = f"gatehouse_bench_{uuid.uuid4().hex[:8]}"

            async def create() -> None:
                conn = await asyncpg.connect(pg_admin)
                await conn.execute(f'CREATE DATABASE "{self.pg_name}"')
                await conn.close()

            asyncio.run(create())
            self.url = pg_admin.rsplit("/", 1)[0] + "/" + self.pg_name
        self.env = {"GATEHOUSE_DATABASE_URL": self.url, "GATEHOUSE_DATA_DIR": str(self.dir),
                    "GATEHOUSE_JOBS_ENABLED": "false", "GATEHOUSE_LOG_LEVEL": "WARNING",
                    "GATEHOUSE_ACCESS_LOG": "false"}

    def setup(self) -> dict:
        from gatehouse.config import Settings
        from gatehouse.demo import seed_demo
        from gatehouse.kit.db import Database
        from gatehouse.migrations.runner import upgrade

        settings = Settings(database_url=self.url, data_dir=self.dir)
        upgrade(settings)

        async def seed():  # type: ignore[no-untyped-def]
            db = Database(settings)
            try:
                creds = await seed_demo(db, self.dir / "demo-credentials.json")
                from sqlalchemy import select

                from gatehouse.accounts.models import User
                from gatehouse.sites.models import Location

                async with db.read() as s:
                    uid = (await s.execute(select(User.id).where(User.display_name == "Random User"))).scalar()
                    lid = (await s.execute(select(Location.id).where(Location.name == "ABC Cage F150-B"))).scalar()
                return creds, uid, lid
            finally:
                await db.dispose()

        self.creds, self.user_id, self.location_id = asyncio.run(seed())
        self.seeded = 0
        return self.creds

    def seed_tickets(self, total: int) -> float:
        from bench.seed import seed_postgres, seed_sqlite

        n = total - self.seeded
        if n <= 0:
            return 0.0
        started = time.perf_counter()
        if self.kind == "sqlite":
            seed_sqlite(str(self.dir / "gatehouse.db"), n, self.user_id, self.location_id, 1_000_000 + self.seeded)
        else:
            asyncio.run(seed_postgres(self.url.replace("postgresql+asyncpg", "postgresql"), n, self.user_id,
                                      self.location_id, 1_000_000 + self.seeded))
        self.seeded = total
        return time.perf_counter() - started

    def seed_watchlist(self, n: int) -> None:
        from bench.seed import seed_watchlist_postgres, seed_watchlist_sqlite

        if self.kind == "sqlite":
            seed_watchlist_sqlite(str(self.dir / "gatehouse.db"), n)
        else:
            asyncio.run(seed_watchlist_postgres(self.url.replace("postgresql+asyncpg", "postgresql"), n))

    def drop(self) -> None:
        # the uploads' blobs alone are gigabytes per run: a full disk fails the next run
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.pg_name:
            from bench.world import drop_database

            asyncio.run(drop_database(self.pg_admin, self.pg_name))


def token_for(base: str, cred) -> str:  # type: ignore[no-untyped-def]
    r = httpx.post(f"{base}/v2/auth/token", data={"grant_type": "client_credentials", "client_id": cred.client_id,
                                                   "client_secret": cred.client_secret})
    return r.json()["access_token"]


def create_body(visitors: int) -> str:
    today = date.today().isoformat()
    return json.dumps([{
        "visitors": [{"visitorFirstName": f"V{i}", "visitorLastName": "Doe", "visitorEmail": f"v{i}@example.com"}
                     for i in range(visitors)],
        "sites": [{"site": "IAD024", "locations": [{"location": "ABC Cage F150-B", "accessStartDate": today,
                                                   "accessEndDate": today}]}],
        "visitorType": True, "escortFirstName": "Jane", "escortLastName": "Doe", "visitorHostFirstName": "John",
        "visitorHostLastName": "Doe", "visitorHostCompany": "ABC", "visitorBadgeStartDate": today,
        "visitorBadgeEndDate": today, "company": "DEF", "isBulkRequest": False}])


def outbox_counts(env: "Env") -> dict:
    """Outbox rows by status right after a figure: how far the worker kept up."""
    sql = "SELECT status, COUNT(*) FROM outbox GROUP BY status"
    if env.kind == "sqlite":
        import sqlite3

        with sqlite3.connect(env.url.split(":///", 1)[1]) as conn:
            return dict(conn.execute(sql).fetchall())
    import asyncpg

    async def fetch() -> dict:
        conn = await asyncpg.connect(env.url)
        try:
            return {r[0]: r[1] for r in await conn.fetch(sql)}
        finally:
            await conn.close()

    return asyncio.run(fetch())


def drain_outbox(env: "Env", kind: str, timeout: float = 240.0) -> None:
    """Wait (idle) while the server's in-process worker delivers what the creates queued: a figure
    measured beside that backlog's mails measures the worker (PostgreSQL's upload: 41% with 7,700
    mails going out, 2026-12-04 10:10 UTC)."""
    started = time.monotonic()
    pending = outbox_counts(env).get("pending", 0)
    while pending and time.monotonic() - started < timeout:
        time.sleep(2)
        pending = outbox_counts(env).get("pending", 0)
    print(f"  {kind:<8} {'':<34} outbox drained in {time.monotonic() - started:.0f} s (pending now {pending})",
          flush=True)


def _fsync_write_speeds(path: Path, data: bytes, repeats: int) -> list[float]:
    """MB/s of SHA-256 + write + fsync of the same bytes to the same disk: the upload baseline."""
    speeds = []
    for _ in range(repeats):
        started = time.perf_counter()
        digest = hashlib.sha256()
        with open(path, "wb") as fh:
            for i in range(0, len(data), 64 * 1024):
                chunk = data[i:i + 64 * 1024]
                digest.update(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        speeds.append(len(data) / MiB / (time.perf_counter() - started))
    path.unlink(missing_ok=True)
    return speeds


def uploads_beside_baseline(spec: dict, path: Path, data: bytes, repeats: int) -> tuple[list[dict], float]:
    """Gatehouse's upload runs and the SHA-256 + write + fsync baseline taken in turns (one run, then
    two baseline samples, `repeats` times): this disk's speed drifts over minutes here (the baseline
    alone 256-340 MB/s within an hour), so a baseline taken after all the runs measured another disk."""
    runs, speeds = [], []
    for _ in range(repeats):
        runs.append(load(spec))
        speeds += _fsync_write_speeds(path, data, 2)
    failed = [r["statuses"] for r in runs if r["errors"] or any(n for k, n in r["statuses"].items() if not k.startswith("2"))]
    if failed:
        raise SystemExit(f"failed uploads to {spec['url']}: {failed}")
    return runs, statistics.median(speeds)


def upload_floor(upload_file: Path, folder: Path, repeats: int, duration: float, *, server_cpus: str | None = None,
                 client_cpus: str | None = None) -> dict[str, float]:
    """MiB/s of two bare endpoints (bench/bare_storage_app.py) under the same wrk upload as Gatehouse's:
    `drain` reads the body and keeps nothing, `store` also hashes, writes and fsyncs it the way
    Gatehouse does. Not targets: they show what of the baseline's time HTTP alone takes here."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = serve(uvicorn_args("bench.bare_storage_app:app", port), {"BENCH_BARE_UPLOADS": str(folder)}, port, "/bare",
                 cpus=server_cpus)
    try:
        out = {}
        for name in ("drain", "store"):
            spec = {"url": f"http://127.0.0.1:{port}/bare-{name}", "method": "POST", "concurrency": 1,
                    "multipart": {"field": "file", "filename": "bench.pdf", "path": str(upload_file)},
                    "duration": duration, **({"client_cpus": client_cpus} if client_cpus else {})}
            load({**spec, "duration": 1})
            out[name] = statistics.median(load(spec)["rps"] for _ in range(repeats)) * upload_file.stat().st_size / MiB
        return out
    finally:
        proc.terminate()
        proc.wait()


def peak_rss_during(pid: int, fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    proc = psutil.Process(pid)
    idle = proc.memory_info().rss / MiB
    peak = idle
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss / MiB)
            time.sleep(0.01)

    t = threading.Thread(target=sample)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return idle, peak


def scale_in_turns(kind: str, env: Env, args: argparse.Namespace, port: int, procs: list) -> tuple[dict, dict]:
    """Flatness: detail and list p99 at the small and the large size. Both databases are served side by
    side and measured in turns (small, large, each repeat), after a warm-up each: this machine's speed
    drifts over minutes, and measured one after the other the ratio was partly the drift's (run B's
    PostgreSQL list x1.66 with its detail req/s 13% down too). `env` ends up seeded to the large size."""
    small_env = Env(kind, args.pg)
    try:
        small_creds = small_env.setup()
        seeded = {args.small: small_env.seed_tickets(args.small), args.large: env.seed_tickets(args.large)}
        envs = {args.small: (small_env, small_creds), args.large: (env, env.creds)}
        ports = {args.small: free_port(), args.large: port}
        servers, urls = {}, {}
        for size, (e, creds) in envs.items():
            servers[size] = serve(uvicorn_args("gatehouse.app:create_app", ports[size], factory=True), e.env,
                                  ports[size], "/healthz")
            procs.append(servers[size])
            base = f"http://127.0.0.1:{ports[size]}"
            h = {"Authorization": f"Bearer {token_for(base, creds['Random User'])}", **ACCOUNT_HEADERS}
            urls[size] = ({"url": f"{base}/v1/facility-access/access-tickets/{DETAIL_WO}", "headers": h},
                          {"url": f"{base}/v1/facility-access/visitors", "headers": h})
            for spec in urls[size]:
                warm_up(spec["url"], spec["headers"])
        common = {"concurrency": args.concurrency, "duration": args.duration}
        runs: dict[int, tuple[list, list]] = {size: ([], []) for size in envs}
        for _ in range(args.repeats):
            for size in envs:
                for spec, into in zip(urls[size], runs[size], strict=True):
                    into.append(load({**common, **spec}))
        scale = {}
        for size, (details, lists) in runs.items():
            d, lst = (statistics.median(r["p99_ms"] for r in details), statistics.median(r["p99_ms"] for r in lists))
            d_rps, l_rps = statistics.median(r["rps"] for r in details), statistics.median(r["rps"] for r in lists)
            scale[size] = {"detail_p99_ms": d, "list_p99_ms": lst, "detail_rps": d_rps, "list_rps": l_rps,
                           "seed_seconds": round(seeded[size], 1)}
            print(f"  {kind:<8} {size:>9,} tickets: detail p99 {d:.2f} ms ({d_rps:.0f} req/s), "
                  f"list p99 {lst:.2f} ms ({l_rps:.0f} req/s)  [seeded in {seeded[size]:.1f} s]", flush=True)
        for proc in servers.values():
            proc.terminate()
            proc.wait()
            procs.remove(proc)
    finally:
        small_env.drop()
    small, large = scale[args.small], scale[args.large]
    ratio = {"detail_p99": round(large["detail_p99_ms"] / small["detail_p99_ms"], 2) if small["detail_p99_ms"] else None,
             "list_p99": round(large["list_p99_ms"] / small["list_p99_ms"], 2) if small["list_p99_ms"] else None,
             "target": 1.5, "measured": "side by side, in turns"}
    print(f"  {kind:<8} p99 at {args.large:,} / at {args.small:,}: detail x{ratio['detail_p99']}, "
          f"list x{ratio['list_p99']} (target <= 1.5; in turns)", flush=True)
    return {str(k): v for k, v in scale.items()}, ratio


def run_flavour(kind: str, args: argparse.Namespace) -> dict:
    env = Env(kind, args.pg)
    results: dict = {"database": kind, "figures": []}
    procs: list[subprocess.Popen] = []
    try:
        creds = env.setup()
        port, bare_port = free_port(), free_port()
        base, bare = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
        results["scale"], results["scale_ratio"] = scale_in_turns(kind, env, args, port, procs)
        # then every figure against the large database, beside its bare baseline
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), env.env, port, "/healthz")
        procs.append(gh)
        token = token_for(base, creds["Random User"])
        h = {"Authorization": f"Bearer {token}", **ACCOUNT_HEADERS}
        detail_wo = DETAIL_WO
        detail_bytes = httpx.get(f"{base}/v1/facility-access/access-tickets/{detail_wo}", headers=h).content
        list_bytes = httpx.get(f"{base}/v1/facility-access/visitors", headers=h).content
        body_file = env.dir / "bare-body.json"
        common = {"concurrency": args.concurrency, "duration": args.duration}

        def bare_server(body: bytes, blob: str = "") -> subprocess.Popen:
            body_file.write_bytes(body)
            p = serve(uvicorn_args("bench.bare_app:app", bare_port), {"BENCH_BARE_BODY": str(body_file),
                                                                      "BENCH_BARE_FILE": blob}, bare_port, "/bare")
            return p

        def figure(name: str, spec: dict, baseline_body: bytes, target: float | None, method: str = "GET",
                   body: str | None = None) -> dict:
            measured = median_of(args.repeats, {**common, **spec})
            b = bare_server(baseline_body)
            try:
                base_fig = median_of(args.repeats, {**common, "url": f"{bare}/bare", "method": method,
                                                    "body": body})
            finally:
                b.terminate()
                b.wait()
            ratio = measured["rps"] / base_fig["rps"] if base_fig["rps"] else 0
            row = {"name": name, **measured, "baseline_rps": base_fig["rps"], "baseline_p99_ms": base_fig["p99_ms"],
                   "ratio": round(ratio, 3), "target": target}
            results["figures"].append(row)
            print(f"  {kind:<8} {name:<34} {measured['rps']:>8.0f} req/s  p50 {measured['p50_ms']:>7.2f} ms  "
                  f"p99 {measured['p99_ms']:>7.2f} ms | bare {base_fig['rps']:>8.0f} req/s  ratio {ratio:6.1%}"
                  + (f"  (target >= {target:.0%})" if target else "") + (f"  errors {measured['errors']}"
                                                                        if measured["errors"] else ""), flush=True)
            return row

        tok_body = (f"grant_type=client_credentials&client_id={creds['Random User'].client_id}"
                    f"&client_secret={creds['Random User'].client_secret}")
        token_bytes = httpx.post(f"{base}/v2/auth/token", content=tok_body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}).content
        figure("token issue", {"url": f"{base}/v2/auth/token", "method": "POST", "body": tok_body,
                               "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
               token_bytes, None, "POST", tok_body)
        figure("ticket detail", {"url": f"{base}/v1/facility-access/access-tickets/{detail_wo}", "headers": h},
               detail_bytes, 0.20)
        figure("ticket list page 0", {"url": f"{base}/v1/facility-access/visitors", "headers": h}, list_bytes, 0.10)
        # what Prometheus metrics cost (issue 14): the same detail, with GATEHOUSE_METRICS_PORT set
        gh.terminate()
        gh.wait()
        procs.remove(gh)
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True),
                   {**env.env, "GATEHOUSE_METRICS_PORT": str(free_port())}, port, "/healthz")
        procs.append(gh)
        warm_up(f"{base}/v1/facility-access/access-tickets/{detail_wo}", h)  # as warm as the server before it
        figure("ticket detail, metrics on", {"url": f"{base}/v1/facility-access/access-tickets/{detail_wo}",
                                             "headers": h}, detail_bytes, 0.20)
        gh.terminate()
        gh.wait()
        procs.remove(gh)
        if kind != "sqlite":  # `gatehouse serve --workers N` on PostgreSQL: 1 and 2 processes
            per_workers = {}
            for n in (1, 2):
                gh = serve([sys.executable, "-m", "gatehouse", "serve", "--no-migrate", "--port", str(port),
                            "--workers", str(n)], env.env, port, "/healthz")
                warm_up(f"{base}/v1/facility-access/access-tickets/{detail_wo}", h)
                try:
                    d = median_of(args.repeats, {**common, "url": f"{base}/v1/facility-access/access-tickets/"
                                                                   f"{detail_wo}", "headers": h})
                finally:
                    gh.terminate()
                    gh.wait()
                per_workers[n] = d
                print(f"  {kind:<8} detail, serve --workers {n:<2}             {d['rps']:>8.0f} req/s  "
                      f"p50 {d['p50_ms']:>7.2f} ms  p99 {d['p99_ms']:>7.2f} ms", flush=True)
            scaling = per_workers[2]["rps"] / per_workers[1]["rps"] if per_workers[1]["rps"] else 0
            results["workers_scaling"] = {"1": per_workers[1], "2": per_workers[2], "ratio": round(scaling, 2)}
            print(f"  {kind:<8} 2 workers / 1 worker: x{scaling:.2f} (wrk shares the same cores)", flush=True)
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), env.env, port, "/healthz")
        procs.append(gh)
        deep = max(0, args.large // 25 // 2)  # the middle of the list
        deep_bytes = httpx.get(f"{base}/v1/facility-access/visitors?page={deep}", headers=h).content
        figure(f"ticket list page {deep}", {"url": f"{base}/v1/facility-access/visitors?page={deep}", "headers": h},
               deep_bytes, None)
        for visitors, label in ((1, "create, 1 visitor"), (10, "create, 10 combinations")):
            cb = create_body(visitors)
            sample = httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=cb,
                                headers={**h, "Content-Type": "application/json"}).content
            figure(label, {"url": f"{base}/v1/facility-access/visitors/access-requests", "method": "POST",
                           "body": cb, "headers": {**h, "Content-Type": "application/json"},
                           "max_requests": 3000}, sample, 0.05 if visitors == 1 else None, "POST", cb)
        # SPEC §7: screening a create against a 100k-entry watchlist adds <= 5 ms to its median: one
        # client at a time (under load a median is mostly queueing), before and after the list is seeded
        one_by_one = {**common, "concurrency": 1, "url": f"{base}/v1/facility-access/visitors/access-requests",
                      "method": "POST", "body": create_body(1), "max_requests": 1000,
                      "headers": {**h, "Content-Type": "application/json"}}
        unscreened = median_of(args.repeats, one_by_one)
        gh.terminate()
        gh.wait()
        procs.remove(gh)
        env.seed_watchlist(100_000)
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), env.env, port, "/healthz")
        procs.append(gh)
        httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=create_body(1),  # loads the list
                   headers={**h, "Content-Type": "application/json"})
        screened = median_of(args.repeats, one_by_one)
        added = screened["p50_ms"] - unscreened["p50_ms"]
        results["figures"].append({"name": "create, 1 visitor, 100k watchlist", **screened, "unscreened": unscreened,
                                   "added_p50_ms": round(added, 2), "target_added_ms": 5})
        print(f"  {kind:<8} {'create, 1 visitor, 100k watchlist':<34} {screened['rps']:>8.0f} req/s  "
              f"p50 {screened['p50_ms']:>7.2f} ms | p50 without the list {unscreened['p50_ms']:.2f} ms: "
              f"{added:+.2f} ms (target <= +5 ms)", flush=True)
        # the same create with deliveries in their own process (GATEHOUSE_WORKER=external and
        # `gatehouse worker`, SPEC §9's deployment for load): the API process then only writes the
        # outbox rows; the worker shares the machine's two cores with it and with wrk
        gh.terminate()
        gh.wait()
        procs.remove(gh)
        ext_env = {**env.env, "GATEHOUSE_WORKER": "external"}
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), ext_env, port, "/healthz")
        procs.append(gh)
        wk = subprocess.Popen([sys.executable, "-m", "gatehouse", "worker"], env={**os.environ, **ext_env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(wk)
        cb = create_body(1)
        sample = httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=cb,
                            headers={**h, "Content-Type": "application/json"}).content
        row = figure("create, 1 visitor, worker process", {
            "url": f"{base}/v1/facility-access/visitors/access-requests", "method": "POST", "body": cb,
            "headers": {**h, "Content-Type": "application/json"}, "max_requests": 20000}, sample, None, "POST", cb)
        # not §7's row (that one is the demo's in-process worker, above): this deployment for comparison
        row["outbox_after"] = outbox_counts(env)
        print(f"  {kind:<8} {'':<34} outbox then: {row['outbox_after']}", flush=True)
        for p in (wk, gh):
            p.terminate()
            p.wait()
            procs.remove(p)
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), env.env, port, "/healthz")
        procs.append(gh)

        cbody = json.dumps({"requestId": detail_wo, "comment": "bench"})
        sample = httpx.post(f"{base}/v1/comments", content=cbody, headers={**h, "Content-Type": "application/json"}).content
        figure("comment", {"url": f"{base}/v1/comments", "method": "POST", "body": cbody,
                           "headers": {**h, "Content-Type": "application/json"}, "max_requests": 3000},
               sample, None, "POST", cbody)

        # uploads and downloads of 10 MiB, once the creates' mails are out
        drain_outbox(env, kind)
        data = b"%PDF-1.4\n" + os.urandom(10 * MiB - 9)
        upload_file = env.dir / "upload.pdf"
        upload_file.write_bytes(data)
        open_wo = json.loads(httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=create_body(1),
                                        headers={**h, "Content-Type": "application/json"}).content)["workOrder"][0]["workOrderId"]
        up_spec = {"url": f"{base}/v1/attachments?requestId={open_wo}&file_name=bench.pdf", "method": "POST",
                   "headers": h, "multipart": {"field": "file", "filename": "bench.pdf", "path": str(upload_file)},
                   "concurrency": 1, "duration": args.duration}
        # five turns at least: the baseline alone moves 420-590 MB/s between samples minutes apart here
        up_runs, base_mbs = uploads_beside_baseline(up_spec, env.dir / "baseline.bin", data, max(5, args.repeats))
        up = {"rps": statistics.median(r["rps"] for r in up_runs),
              "p50_ms": statistics.median(r["p50_ms"] for r in up_runs), "errors": sum(r["errors"] for r in up_runs)}
        up_mbs = up["rps"] * 10
        floor = upload_floor(upload_file, env.dir / "floor", args.repeats, args.duration)
        row = {"name": "upload 10 MiB", "MBps": round(up_mbs, 1), "baseline_MBps": round(base_mbs, 1),
               "ratio": round(up_mbs / base_mbs, 3), "target": 0.80, "p50_ms": up["p50_ms"], "errors": up["errors"],
               "floor_drain_MBps": round(floor["drain"], 1), "floor_store_MBps": round(floor["store"], 1)}
        results["figures"].append(row)
        print(f"  {kind:<8} {'upload 10 MiB':<34} {up_mbs:>8.1f} MB/s | sha256+write+fsync {base_mbs:8.1f} MB/s  "
              f"ratio {row['ratio']:6.1%}  (target >= 80%)", flush=True)
        print(f"  {kind:<8} {'  floor: bare HTTP, no work':<34} {floor['drain']:>8.1f} MB/s | bare hash+write+fsync "
              f"{floor['store']:8.1f} MB/s  ratio {floor['store'] / base_mbs:6.1%}  (not a target)", flush=True)
        att = httpx.post(f"{base}/v1/attachments?requestId={open_wo}&file_name=dl.pdf", headers=h,
                         files={"file": ("dl.pdf", data)}).json()
        blob_path = next((env.dir / "blobs").rglob("*"), None)
        stored = [p for p in (env.dir / "blobs").rglob("*") if p.is_file() and p.stat().st_size == len(data)]
        blob_path = stored[-1] if stored else blob_path
        dl = median_of(args.repeats, {"url": f"{base}/v1/attachments/{open_wo}/file/{att['id']}", "headers": h,
                                      "concurrency": 4, "duration": args.duration, "max_requests": 200})
        b = serve(uvicorn_args("bench.bare_app:app", bare_port), {"BENCH_BARE_FILE": str(blob_path)}, bare_port, "/bare")
        try:
            bdl = median_of(args.repeats, {"url": f"{bare}/bare-file", "concurrency": 4, "duration": args.duration,
                                           "max_requests": 200})
        finally:
            b.terminate()
            b.wait()
        row = {"name": "download 10 MiB", "MBps": round(dl["rps"] * 10, 1), "baseline_MBps": round(bdl["rps"] * 10, 1),
               "ratio": round(dl["rps"] / bdl["rps"], 3) if bdl["rps"] else 0, "target": 0.80}
        results["figures"].append(row)
        print(f"  {kind:<8} {'download 10 MiB':<34} {row['MBps']:>8.1f} MB/s | bare streaming {row['baseline_MBps']:8.1f} MB/s"
              f"  ratio {row['ratio']:6.1%}  (target >= 80%)", flush=True)
        idle, peak = peak_rss_during(gh.pid, lambda: load({**up_spec, "concurrency": 20, "duration": 3}))
        row = {"name": "peak RSS, 20 concurrent 10 MiB uploads", "idle_MiB": round(idle, 1), "peak_MiB": round(peak, 1),
               "growth_MiB": round(peak - idle, 1), "target_growth_MiB": 50}
        results["figures"].append(row)
        print(f"  {kind:<8} {'peak RSS, 20 x 10 MiB uploads':<34} idle {idle:.1f} MiB, peak {peak:.1f} MiB, "
              f"growth {peak - idle:.1f} MiB (target <= 50)", flush=True)

    finally:
        for p in procs:
            p.terminate()
            p.wait()
        env.drop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("GATEHOUSE_BENCH_PG", "postgresql://127.0.0.1:5432/test"))
    parser.add_argument("--small", type=int, default=10_000, help="tickets for the baseline size")
    parser.add_argument("--large", type=int, default=1_000_000, help="tickets for the large size")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the rows of bench.deliveries (mail, webhooks) and bench.console_roster")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Gatehouse bench {datetime.now():%Y-%m-%d %H:%M}: {args.repeats} runs of {args.duration}s per figure, "
          f"{args.concurrency} connections, one uvicorn worker for Gatehouse and the bare baseline alike", flush=True)
    report = {"started": datetime.now().isoformat(timespec="seconds"), "args": vars(args),
              "results": [run_flavour(kind, args) for kind in kinds]}
    if not args.no_extras:  # SPEC §7's rows for the channels and the console, same machine, same run
        from bench import console_roster, deliveries

        report["deliveries"], report["console_roster"] = [], []
        for kind in kinds:
            for r in asyncio.run(deliveries.run(kind, args.pg, 2000)):
                print(deliveries.line(r), flush=True)
                report["deliveries"].append(r)
            roster = console_roster.figure(kind, args.pg, 500)
            print(roster, flush=True)
            report["console_roster"].append(roster.strip())
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
