"""`python -m bench.ab --old <checkout> [--db sqlite|postgres] [--rounds 3]`: the write and read
paths of two checkouts of Gatehouse measured in turn against the same database (the order swapped
each round, the worker external so that a server never renders another's backlog of mail), each
row a req/s per round. For a change to the hot paths: is it the change, or the machine's noise?"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from bench.__main__ import (ACCOUNT_HEADERS, DETAIL_WO, Env, create_body, free_port, median_of, token_for,
                            uvicorn_args, wait_healthy)

HERE = str(Path(__file__).resolve().parents[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old", required=True, help="the other checkout (a git worktree of the baseline)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    env = Env(args.db, args.pg)
    try:
        _rounds(env, args)
    finally:
        env.drop()


def _rounds(env: Env, args: argparse.Namespace) -> None:
    creds = env.setup()
    env.seed_tickets(10_000)
    pairs = (("old", str(Path(args.old).resolve())), ("new", HERE))
    rows: dict[tuple[str, str], list[int]] = {}
    for n in range(args.rounds):
        for name, path in pairs if n % 2 == 0 else pairs[::-1]:
            port = free_port()
            extra = {**env.env, "PYTHONPATH": path, "GATEHOUSE_WORKER": "external"}
            proc = subprocess.Popen(uvicorn_args("gatehouse.app:create_app", port, factory=True), cwd=path,
                                    env={**os.environ, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{port}"
                wait_healthy(f"{base}/healthz", proc)
                h = {"Authorization": f"Bearer {token_for(base, creds['Random User'])}", **ACCOUNT_HEADERS,
                     "Content-Type": "application/json"}
                common = {"concurrency": 16, "duration": args.duration, "headers": h}
                for label, spec in (
                        ("create, 1 visitor", {"url": f"{base}/v1/facility-access/visitors/access-requests",
                                               "method": "POST", "body": create_body(1), "max_requests": 3000}),
                        ("create, 10 combinations", {"url": f"{base}/v1/facility-access/visitors/access-requests",
                                                     "method": "POST", "body": create_body(10), "max_requests": 3000}),
                        ("ticket detail", {"url": f"{base}/v1/facility-access/access-tickets/{DETAIL_WO}"}),
                        ("ticket list page 0", {"url": f"{base}/v1/facility-access/visitors"})):
                    rows.setdefault((label, name), []).append(round(median_of(1, {**common, **spec})["rps"]))
            finally:
                proc.terminate()
                proc.wait()
    for label in dict.fromkeys(label for label, _ in rows):
        old, new = rows[(label, "old")], rows[(label, "new")]
        ratio = sorted(new)[len(new) // 2] / max(1, sorted(old)[len(old) // 2])
        print(f"  {args.db:<8} {label:<26} old {old} req/s  new {new} req/s  median new/old {ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
