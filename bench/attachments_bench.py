"""Attachment figures of SPEC §7, each beside a baseline measured in the same run, on the local
filesystem backend and on S3 (moto in server mode, a separate process on loopback):

- upload 10 MiB: MB/s of Gatehouse uploads vs SHA-256 + write + fsync of the same bytes to the same
  backend (for S3: SHA-256 + a 5 MiB-part multipart upload to the same endpoint);
- download 10 MiB: Gatehouse vs a bare FastAPI endpoint streaming the same stored object;
- peak server RSS (psutil, sampled every 10 ms) while 20 clients each upload 10 MiB at once, vs idle.

Gatehouse runs as a uvicorn subprocess (one worker) on embedded defaults (SQLite in a temp data dir)
with the demo world; the load comes from wrk in another process. Bounded in count and time.
Usage: python -m bench.attachments_bench [--backend local|s3|both] [--repeats 5]
Prints a table; writes bench/results/attachments.json."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx

from bench.__main__ import (
    ACCOUNT_HEADERS,
    MiB,
    RESULTS,
    Env,
    create_body,
    free_port,
    load,
    peak_rss_during,
    serve,
    token_for,
    upload_floor,
    uploads_beside_baseline,
    uvicorn_args,
)

BUCKET = "gatehouse-bench"
PART = 5 * MiB
AWS_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env={**os.environ, **AWS_ENV}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("moto server exited")
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench").create_bucket(Bucket=BUCKET)
    return proc, endpoint


def s3_write_baseline(endpoint: str, data: bytes, repeats: int) -> float:
    """MB/s of SHA-256 + multipart upload (5 MiB parts) of the same bytes to the same S3 endpoint."""

    async def run() -> list[float]:
        from aiobotocore.session import get_session

        speeds = []
        async with get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1") as s3:
            for i in range(repeats):
                key = f"baseline-{i}"
                started = time.perf_counter()
                digest = hashlib.sha256()
                upload = await s3.create_multipart_upload(Bucket=BUCKET, Key=key)
                parts = []
                for n, at in enumerate(range(0, len(data), PART), start=1):
                    chunk = data[at:at + PART]
                    for j in range(0, len(chunk), 64 * 1024):
                        digest.update(chunk[j:j + 64 * 1024])
                    r = await s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=n,
                                             Body=chunk)
                    parts.append({"ETag": r["ETag"], "PartNumber": n})
                await s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                                   MultipartUpload={"Parts": parts})
                digest.hexdigest()
                speeds.append(len(data) / MiB / (time.perf_counter() - started))
                await s3.delete_object(Bucket=BUCKET, Key=key)
        return speeds

    with_env = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    try:
        return statistics.median(asyncio.run(run()))
    finally:
        for k, v in with_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def runs(repeats: int, spec: dict) -> list[dict]:
    out = [load(spec) for _ in range(repeats)]
    bad = sum(r["errors"] for r in out) + sum(n for r in out for s, n in r["statuses"].items() if not s.startswith("2"))
    if bad:
        raise SystemExit(f"{bad} failed requests in {spec['url']}: {[r['statuses'] for r in out]}")
    return out


def bench_backend(kind: str, repeats: int, moto_endpoint: str | None, pin: bool = False) -> dict:
    """`pin`: the server on core 0 and the upload client on core 1 (taskset), and the baseline measured
    on core 0 too: the upload figure is then the server's, as the baseline is (issue 26)."""
    env = Env("sqlite", "")
    procs = []
    rows: list[dict] = []
    try:
        gh_env = dict(env.env)
        if kind == "s3":
            gh_env.update(AWS_ENV, GATEHOUSE_STORAGE_URL=f"s3://{BUCKET}?endpoint={moto_endpoint}&region=us-east-1")
        creds = env.setup()
        port, bare_port = free_port(), free_port()
        base = f"http://127.0.0.1:{port}"
        gh = serve(uvicorn_args("gatehouse.app:create_app", port, factory=True), gh_env, port, "/healthz",
                   cpus="0" if pin else None)
        procs.append(gh)
        h = {"Authorization": f"Bearer {token_for(base, creds['Random User'])}", **ACCOUNT_HEADERS}
        wo = httpx.post(f"{base}/v1/facility-access/visitors/access-requests", content=create_body(1),
                        headers={**h, "Content-Type": "application/json"}).json()["workOrder"][0]["workOrderId"]
        data = b"%PDF-1.4\n" + os.urandom(10 * MiB - 9)
        upload_file = env.dir / "upload.pdf"
        upload_file.write_bytes(data)
        up_spec = {"url": f"{base}/v1/attachments?requestId={wo}&file_name=bench.pdf", "method": "POST",
                   "headers": h, "multipart": {"field": "file", "filename": "bench.pdf", "path": str(upload_file)},
                   "concurrency": 1, "duration": 3, **({"client_cpus": "1"} if pin else {})}
        load({**up_spec, "duration": 1})  # warm-up: imports, pools, first-use paths
        if kind == "local":
            mine = os.sched_getaffinity(0)
            if pin:
                os.sched_setaffinity(0, {0})  # where the server runs (wrk is pinned by its own spec)
            try:
                up_runs, base_up = uploads_beside_baseline(up_spec, env.dir / "blobs" / "baseline.bin", data,
                                                           max(5, repeats))
            finally:
                os.sched_setaffinity(0, mine)
            base_name = "SHA-256 + write + fsync, same disk"
            floor = upload_floor(upload_file, env.dir / "floor", repeats, 3, server_cpus="0" if pin else None,
                                 client_cpus="1" if pin else None)
            floors = [{"backend": kind, "figure": "upload floor: bare endpoint, HTTP only",
                         "value_MiBps": round(floor["drain"], 1), "baseline": base_name + " (not a target)",
                         "baseline_MiBps": round(base_up, 1), "ratio": round(floor["drain"] / base_up, 3),
                         "target": "-"},
                      {"backend": kind, "figure": "upload floor: bare hash+write+fsync", "value_MiBps":
                         round(floor["store"], 1), "baseline": base_name + " (not a target)",
                         "baseline_MiBps": round(base_up, 1), "ratio": round(floor["store"] / base_up, 3),
                         "target": "-"}]
        else:
            up_runs = runs(repeats, up_spec)
            base_up = s3_write_baseline(moto_endpoint, data, max(5, repeats))  # type: ignore[arg-type]
            base_name = "SHA-256 + multipart PUT, same S3"
            floors = []
        up = statistics.median(r["rps"] for r in up_runs) * 10
        rows.append({"backend": kind, "figure": "upload 10 MiB", "value_MiBps": round(up, 1),
                     "baseline": base_name, "baseline_MiBps": round(base_up, 1), "ratio": round(up / base_up, 3),
                     "target": ">= 0.80", "p50_ms": statistics.median(r["p50_ms"] for r in up_runs),
                     "uploads": sum(r["requests"] for r in up_runs)})
        rows += floors

        att = httpx.post(f"{base}/v1/attachments?requestId={wo}&file_name=dl.pdf", headers=h,
                         files={"file": ("dl.pdf", data)}, timeout=60).json()
        with sqlite3.connect(env.dir / "gatehouse.db") as conn:
            key = conn.execute("SELECT b.storage_key FROM blobs b JOIN attachments a ON a.blob_id = b.id "
                               "WHERE a.id = ?", (att["id"],)).fetchone()[0]
        dl_spec = {"url": f"{base}/v1/attachments/{wo}/file/{att['id']}", "headers": h, "concurrency": 4,
                   "duration": 3, "max_requests": 120}
        load({**dl_spec, "max_requests": 8})
        dl = statistics.median(r["rps"] for r in runs(repeats, dl_spec)) * 10
        bare_env = {**AWS_ENV, "BENCH_BARE_S3": f"{moto_endpoint}|{BUCKET}|{key}"} if kind == "s3" else \
            {"BENCH_BARE_FILE": str(env.dir / "blobs" / key[:2] / key)}
        bare = serve(uvicorn_args("bench.bare_storage_app:app", bare_port), bare_env, bare_port, "/bare")
        try:
            bare_spec = {"url": f"http://127.0.0.1:{bare_port}/bare-file", "concurrency": 4, "duration": 3,
                         "max_requests": 120}
            load({**bare_spec, "max_requests": 8})
            bdl = statistics.median(r["rps"] for r in runs(repeats, bare_spec)) * 10
        finally:
            bare.terminate()
            bare.wait()
        rows.append({"backend": kind, "figure": "download 10 MiB", "value_MiBps": round(dl, 1),
                     "baseline": "bare FastAPI endpoint streaming the same stored object",
                     "baseline_MiBps": round(bdl, 1), "ratio": round(dl / bdl, 3), "target": ">= 0.80"})

        time.sleep(1.0)
        idle, peak = peak_rss_during(gh.pid, lambda: runs(1, {**up_spec, "concurrency": 20, "duration": 3}))
        allowance = 50 + (20 * PART / MiB if kind == "s3" else 0)
        rows.append({"backend": kind, "figure": "peak RSS, 20 concurrent 10 MiB uploads", "idle_MiB": round(idle, 1),
                     "peak_MiB": round(peak, 1), "growth_MiB": round(peak - idle, 1),
                     "target": f"growth <= {allowance:.0f} MiB" + (" (50 + 20 x 5 MiB part buffers)" if kind == "s3" else "")})
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(env.dir, ignore_errors=True)
    return {"backend": kind, "figures": rows}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.attachments_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--repeats", type=int, default=5, help="runs per figure; the median is reported")
    parser.add_argument("--pin", action="store_true", help="server and baseline on core 0, the client on core 1")
    args = parser.parse_args()
    started = datetime.now(timezone.utc)
    moto = None
    results = []
    try:
        kinds = ["local", "s3"] if args.backend == "both" else [args.backend]
        endpoint = None
        if "s3" in kinds:
            moto, endpoint = start_moto()
        for kind in kinds:
            results.append(bench_backend(kind, args.repeats, endpoint, args.pin))
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait()
    print(f"\nGatehouse attachments bench {started:%Y-%m-%d %H:%M} UTC, median of {args.repeats} runs, "
          f"one uvicorn worker, SQLite, loopback" + (", server and baseline on core 0, client on core 1" if args.pin else ""))
    print(f"{'backend':<7} {'figure':<40} {'Gatehouse':>12} {'baseline':>12} {'ratio':>7}  target")
    for res in results:
        for r in res["figures"]:
            if "ratio" in r:
                print(f"{r['backend']:<7} {r['figure']:<40} {r['value_MiBps']:>7.1f} MiB/s {r['baseline_MiBps']:>6.1f} MiB/s"
                      f" {r['ratio']:>7.1%}  {r['target']}  [{r['baseline']}]")
            else:
                print(f"{r['backend']:<7} {r['figure']:<40} idle {r['idle_MiB']:.1f} MiB, peak {r['peak_MiB']:.1f} MiB,"
                      f" growth {r['growth_MiB']:.1f} MiB  ({r['target']})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "attachments.json"
    out.write_text(json.dumps({"started": started.isoformat(), "repeats": args.repeats, "cpus": os.cpu_count(),
                               "results": results}, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
