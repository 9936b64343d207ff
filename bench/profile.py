"""`python -m bench.profile [detail|list|create|token|upload] [--db sqlite|postgres]`: py-spy records the
server while wrk drives one hot path, then prints where the event loop's time goes (inclusive share
of Gatehouse's own functions and the libraries under them) and writes the raw stacks to
bench/results/profile-<path>-<db>-<time>.txt (load it into speedscope or flamegraph.pl).

Profile before optimising: a figure from `python -m bench` says how slow, this says why."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import datetime

import httpx

from bench.__main__ import ACCOUNT_HEADERS, DETAIL_WO, RESULTS, Env, create_body, free_port, load, serve, token_for


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("path", choices=["detail", "list", "create", "token", "upload"])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--idle", action="store_true", help="sample waiting threads too (where wall time goes)")
    args = parser.parse_args()

    env = Env(args.db, args.pg)
    proc = None
    try:
        creds = env.setup()
        env.seed_tickets(args.tickets)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = serve([sys.executable, "-m", "uvicorn", "gatehouse.app:create_app", "--factory", "--port", str(port),
                      "--log-level", "warning", "--no-access-log"], env.env, port, "/healthz")
        h = {"Authorization": f"Bearer {token_for(base, creds['Random User'])}", **ACCOUNT_HEADERS}
        spec: dict = {"concurrency": 16, "duration": args.seconds + 2, "headers": h}
        if args.path == "detail":
            spec["url"] = f"{base}/v1/facility-access/access-tickets/{DETAIL_WO}"
        elif args.path == "token":
            cred = creds["Random User"]
            spec.update(url=f"{base}/v2/auth/token", method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded"}, body=(
                f"grant_type=client_credentials&client_id={cred.client_id}&client_secret={cred.client_secret}"))
        elif args.path == "upload":  # one 10 MiB upload after another, as the §7 figure is measured
            wo = httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=create_body(1),
                            headers={**h, "Content-Type": "application/json"}).json()["workOrder"][0]["workOrderId"]
            upload_file = env.dir / "upload.pdf"
            upload_file.write_bytes(b"%PDF-1.4\n" + os.urandom(10 * 1024 * 1024 - 9))
            spec.update(url=f"{base}/v1/attachments?requestId={wo}&file_name=bench.pdf", method="POST",
                        concurrency=1, multipart={"field": "file", "filename": "bench.pdf", "path": str(upload_file)})
        elif args.path == "list":
            spec["url"] = f"{base}/v1/facility-access/visitors"
        else:
            spec.update(url=f"{base}/v1/facility-access/visitors/access-requests", method="POST", body=create_body(1),
                        headers={**h, "Content-Type": "application/json"})
        if "multipart" not in spec:
            assert httpx.request(spec.get("method", "GET"), spec["url"], headers=spec["headers"],
                                 content=spec.get("body")).status_code == 200
        figures: dict = {}
        driver = threading.Thread(target=lambda: figures.update(load(spec)))
        driver.start()
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"profile-{args.path}-{args.db}-{datetime.now():%Y%m%d-%H%M%S}.txt"
        subprocess.run([sys.executable.rsplit("/", 1)[0] + "/py-spy", "record", "-p", str(proc.pid), "-d",
                        str(args.seconds), "-r", "100", "--nonblocking", "-f", "raw", "--threads", *(["--idle"] if args.idle else []), "-o", str(out)],
                       check=True, capture_output=True)
        driver.join()
        print(f"{args.path} on {args.db}: {figures.get('rps', 0):.0f} req/s under the profiler {figures.get('statuses')} "
              f"(p50 {figures.get('p50_ms', 0):.1f} ms); stacks in {out}")
        report(out, args.top)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        env.drop()


def report(path, top: int) -> None:  # type: ignore[no-untyped-def]
    """Inclusive share of the event-loop thread's samples, per function (each counted once a stack)."""
    inclusive: Counter = Counter()
    threads: Counter = Counter()
    total = 0
    for line in open(path):
        stack, _, n = line.rstrip().rpartition(" ")
        frames = stack.split(";")
        threads[frames[0].split(" ")[0] + " " + frames[-1].partition(" (")[0]] += int(n)
        if "MainThread" not in frames[0]:
            continue  # aiosqlite's and the thread pool's threads mostly wait
        total += int(n)
        seen = set()
        for f in frames[1:]:
            name, _, where = f.partition(" (")
            where = where.split(":")[0].split("site-packages/")[-1]
            key = f"{name}  [{where}]"
            if key not in seen:
                seen.add(key)
                inclusive[key] += int(n)
    print("busiest leaves, per thread:", ", ".join(f"{k} {n}" for k, n in threads.most_common(8)))
    print(f"{total} samples of the event loop's thread; inclusive share:")
    for key, n in inclusive.most_common(top * 3):
        if not any(lib in key for lib in ("gatehouse/", "sqlalchemy/", "aiosqlite/", "asyncpg/", "pydantic",
                                          "orjson", "email/", "jinja2/")):
            continue  # the server and framework frames every request passes through
        print(f"  {n / total:6.1%}  {key}")
        top -= 1
        if top == 0:
            break


if __name__ == "__main__":
    main()
