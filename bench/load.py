"""The load generator: a separate process that hammers one URL over loopback for a bounded
time and number of requests, and prints JSON figures. Usage: python -m bench.load '<spec json>'."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


async def run(spec: dict) -> dict:
    url, method = spec["url"], spec.get("method", "GET")
    headers = spec.get("headers", {})
    body = spec.get("body")
    data = body.encode() if isinstance(body, str) else None
    files = spec.get("multipart")  # {"field": ..., "filename": ..., "path": ...}
    concurrency = spec.get("concurrency", 16)
    duration = spec.get("duration", 3.0)
    max_requests = spec.get("max_requests", 100_000)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    sent = 0
    deadline = time.perf_counter() + duration
    payload = None
    if files:  # encoded once: the load generator must not be what limits an upload figure
        boundary = "benchboundary7MA4YWxkTrZu0gW"
        with open(files["path"], "rb") as fh:
            payload = (f'--{boundary}\r\nContent-Disposition: form-data; name="{files["field"]}"; '
                       f'filename="{files["filename"]}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                       ).encode() + fh.read() + f"\r\n--{boundary}--\r\n".encode()
        headers = {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors, sent
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            started = time.perf_counter()
            try:
                req = session.request(method, url, headers=headers, data=payload if payload is not None else data)
                async with req as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=concurrency)
    began = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2) if latencies else 0.0

    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50),
            "p99_ms": pct(0.99), "errors": errors, "statuses": statuses, "seconds": round(elapsed, 2)}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))
