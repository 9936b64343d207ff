"""The audit export in constant memory (SPEC §9): bulk-write N events (default 1,000,000) into a
fresh SQLite or PostgreSQL database, then run `gatehouse admin audit export` as a separate process
and sample its RSS. Prints rows, seconds and peak RSS; the peak must not grow with N.
Usage: python -m bench.audit_export [--db sqlite|postgres] [--events 1000000]."""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil


def seed_sqlite(path: Path, n: int) -> None:
    conn = sqlite3.connect(path)
    rows = ((str(uuid.UUID(int=i + 1)), "access_ticket.created", f"2026-11-{1 + i % 28:02d} 10:00:00.000000", "user",
             "Bench User", "", "0011A00001AaAB1ABC", "IAD024", f"WO{i % 10_000_000:07d}", '{"to":"Approved"}', "", "")
            for i in range(n))
    conn.executemany("INSERT INTO events (id, type, occurred_at, actor_kind, actor_name, actor_client_id, account_id, "
                     "site_code, object_id, data, correlation_id, ip) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()


async def seed_postgres(url: str, n: int) -> None:
    import asyncpg
    from datetime import datetime

    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("events", columns=[
            "id", "type", "occurred_at", "actor_kind", "actor_name", "actor_client_id", "account_id", "site_code",
            "object_id", "data", "correlation_id", "ip"], records=(
            (str(uuid.UUID(int=i + 1)), "access_ticket.created", datetime(2026, 11, 1 + i % 28, 10), "user",
             "Bench User", "", "0011A00001AaAB1ABC", "IAD024", f"WO{i % 10_000_000:07d}", '{"to":"Approved"}', "", "")
            for i in range(n)))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    from gatehouse.config import Settings
    from gatehouse.migrations.runner import upgrade

    data = Path(tempfile.mkdtemp(prefix="gh-bench-export-"))
    url = ""
    if args.db == "postgres":
        import asyncpg

        name = f"gh_bench_export_{int(time.time())}"

        async def create() -> None:
            conn = await asyncpg.connect(args.pg)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()

        asyncio.run(create())
        url = args.pg.rsplit("/", 1)[0] + "/" + name
    settings = Settings(database_url=url, data_dir=data)
    upgrade(settings)
    started = time.perf_counter()
    if args.db == "sqlite":
        seed_sqlite(data / "gatehouse.db", args.events)
    else:
        asyncio.run(seed_postgres(url, args.events))
    print(f"  seeded {args.events:,} events in {time.perf_counter() - started:.1f} s", flush=True)
    for fmt in ("jsonl", "csv"):
        out = data / f"trail.{fmt}"
        env = {**os.environ, "GATEHOUSE_DATABASE_URL": url, "GATEHOUSE_DATA_DIR": str(data)}
        began = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "gatehouse", "admin", "audit", "export", "--format", fmt,
                                 "--output", str(out)], env=env, stderr=subprocess.PIPE, text=True)
        ps = psutil.Process(proc.pid)
        peak = 0
        samples = []
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss
            except psutil.NoSuchProcess:
                break
            peak = max(peak, rss)
            samples.append(rss)
            time.sleep(0.1)
        err = proc.stderr.read() if proc.stderr else ""
        seconds = time.perf_counter() - began
        lines = sum(1 for _ in out.open()) - (1 if fmt == "csv" else 0)
        early = samples[len(samples) // 10] if samples else 0
        print(f"  {args.db:<8} export {fmt:<5} {lines:,} rows in {seconds:.1f} s ({lines / seconds:,.0f} rows/s), "
              f"RSS at 10%: {early / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB  [{err.strip()}]", flush=True)


if __name__ == "__main__":
    main()
