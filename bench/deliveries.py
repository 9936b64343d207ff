"""Mail and webhook delivery figures (SPEC §7): one worker, a local receiver (aiosmtpd for mail, an
HTTP server for webhooks), N outbox rows committed at once; prints deliveries per second and the
commit-to-delivery latency p50/p99 (commit = the outbox row's created_at; delivery = the moment the
receiver got it). Usage: python -m bench.deliveries [--db sqlite|postgres] [--n 2000]."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.world import drop_database
from gatehouse.config import Settings
from gatehouse.kit.db import Database
from gatehouse.migrations.runner import upgrade_async
from gatehouse.webhooks.channel import install as install_webhooks
from gatehouse.worker.outbox import enqueue
from gatehouse.worker.runner import Worker


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.times.setdefault(envelope.rcpt_tos[0].split("@")[0], time.time())
        return "250 OK"


class FileTimes(dict):  # type: ignore[type-arg]
    """Arrival times written by the receiver process, one "id time" line each; read on access."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.offset = 0

    def _load(self) -> None:
        with self.path.open() as fh:
            fh.seek(self.offset)
            chunk = fh.read()
            complete = chunk[: chunk.rfind("\n") + 1]
            self.offset += len(complete)
        for line in complete.splitlines():
            key, at = line.split()
            super().setdefault(key, float(at))

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)


def _receiver_process(path: str, port_file: str) -> None:
    """The HTTP receiver in its own process, so it does not share the worker's interpreter."""
    out = open(path, "a", buffering=1)  # noqa: SIM115

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            out.write(f"{self.headers['webhook-id']} {time.time()}\n")
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    class Server(ThreadingHTTPServer):
        # a real server's accept queue (uvicorn's is 2048, nginx's 511), not socketserver's 5: with
        # that, a worker's first burst of connections lost SYNs and some waited out their timeout
        request_queue_size = 1024

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def http_sink_process(parent: Path):  # type: ignore[no-untyped-def]
    import multiprocessing

    folder = Path(tempfile.mkdtemp(prefix="rx-", dir=parent))  # removed with the run's data folder
    times_path, port_path = folder / "times", folder / "port"
    times_path.touch()
    proc = multiprocessing.get_context("spawn").Process(target=_receiver_process, args=(str(times_path), str(port_path)),
                                                        daemon=True)
    proc.start()
    while not port_path.exists() or not port_path.read_text():
        time.sleep(0.05)
    return proc, int(port_path.read_text()), FileTimes(times_path)


async def measure(kind: str, db: Database, n: int, channel: str, payload_of, key_of, sink: dict[str, float]  # type: ignore[no-untyped-def]
                  ) -> dict:
    """Throughput: n rows committed at once, drained by one worker. Latency: then 100 rows committed
    one by one at 20/s, each timed from its commit to its arrival."""
    worker = Worker(db, jobs=[], poll_seconds=1.0, concurrency=128, batch=100)
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.5)
    committed = time.time()
    async with db.write() as s:
        for i in range(n):
            p = payload_of(i)
            await enqueue(s, channel, p, target=p.get("to", ""), event_id=f"bulk-{channel}-{i}")
    deadline = time.time() + 300
    while len(sink) < n and time.time() < deadline:
        await asyncio.sleep(0.05)
    drained = max(dict(sink).values()) - committed if len(sink) else 0
    delivered = len(sink)
    commits: dict[str, float] = {}
    for i in range(n, n + 100):
        p = payload_of(i)
        async with db.write() as s:
            await enqueue(s, channel, p, target=p.get("to", ""), event_id=f"bulk-{channel}-{i}")
        commits[key_of(i)] = time.time()
        await asyncio.sleep(0.05)
    deadline = time.time() + 60
    while not all(k in sink for k in commits) and time.time() < deadline:
        await asyncio.sleep(0.05)
    worker.stop()
    await task
    arrived = dict(sink)
    lat = sorted(arrived[k] - t for k, t in commits.items() if k in arrived)
    return {"channel": channel, "database": kind, "n": n, "delivered": delivered,
            "per_second": round(delivered / drained, 1) if drained else 0,
            "latency_p50_s": round(statistics.median(lat), 3) if lat else None,
            "latency_p99_s": round(lat[int(0.99 * (len(lat) - 1))], 3) if lat else None}


async def run(kind: str, pg: str, n: int, channels: tuple[str, ...] = ("mail", "webhook")) -> list[dict]:
    data = Path(tempfile.mkdtemp(prefix="gh-bench-deliveries-"))
    url = ""
    if kind == "postgres":
        import asyncpg

        name = f"gh_bench_deliv_{int(time.time())}"
        conn = await asyncpg.connect(pg)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = pg.rsplit("/", 1)[0] + "/" + name
    settings = Settings(environment="test", data_dir=data, database_url=url, jobs_enabled=False,
                        webhook_allow_private=True, worker="external")
    await upgrade_async(settings)
    db = Database(settings)
    results = []
    try:
        # mail: a template-rendered message per row needs a ticket; the channel's own cost is what
        # this measures, so the rows carry a notice (no ticket lookup): the SMTP hand-off itself
        if "mail" in channels:
            results.append(await measure_mail(kind, settings, db, n))
        if "webhook" in channels:
            results.append(await measure_webhooks(kind, settings, db, n))
    finally:
        await db.dispose()
        shutil.rmtree(data, ignore_errors=True)  # left behind, every run added to the machine's disk
        if url:
            await drop_database(pg, name)
    return results


async def measure_mail(kind: str, settings: Settings, db: Database, n: int) -> dict:
    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    from gatehouse.notifications.channel import install as install_mail

    install_mail(settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{port}"}), db)
    result = await measure(kind, db, n, "mail", lambda i: {
        "kind": "webhook_disabled", "to": f"ops{i}@example.com", "webhookId": "bench", "url": "https://x",
        "reason": "bench", "eventId": f"bench-{i}", "at": datetime.now(UTC).isoformat()},
        lambda i: f"ops{i}", sink.times)
    controller.stop()
    return result


async def measure_webhooks(kind: str, settings: Settings, db: Database, n: int) -> dict:
    # webhooks: one endpoint on a local receiver, signed deliveries
    rx_proc, rx_port, times = http_sink_process(Path(str(settings.data_dir)))
    from gatehouse.webhooks.models import WebhookEndpoint
    from gatehouse.kit.db import utcnow

    async with db.write() as s:
        s.add(WebhookEndpoint(id="bench-endpoint", account_id="BENCH", url=f"http://127.0.0.1:{rx_port}/h",
                              event_types='["*"]', description="", enabled=True,
                              secret="whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", created_by="bench",
                              created_at=utcnow(), updated_at=utcnow()))
    install_webhooks(settings, db, schedule=[timedelta(seconds=5)])
    body = json.dumps({"type": "access_ticket.approved", "timestamp": "2026-11-22T00:00:00.000Z",
                       "data": {"ticketId": "WO0000001", "ticketStatus": "Approved"}})
    result = await measure(kind, db, n, "webhook", lambda i: {"type": "access_ticket.approved",
                                                              "body": body, "to": "bench-endpoint"},
                           lambda i: f"bulk-webhook-{i}", times)
    rx_proc.terminate()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--channel", choices=["mail", "webhook", "both"], default="both")
    args = parser.parse_args()
    channels = ("mail", "webhook") if args.channel == "both" else (args.channel,)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        for r in asyncio.run(run(kind, args.pg, args.n, channels)):
            print(line(r), flush=True)


def line(r: dict) -> str:
    target = 100 if r["channel"] == "mail" else 300
    return (f"  {r['database']:<8} {r['channel']:<8} {r['delivered']}/{r['n']} delivered, "
            f"{r['per_second']:>7.1f}/s (target >= {target}/s), commit -> receiver p50 {r['latency_p50_s']} s, "
            f"p99 {r['latency_p99_s']} s (target <= 2 s)")


if __name__ == "__main__":
    main()
