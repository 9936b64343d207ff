"""A real HTTP receiver on loopback for the worker's and the webhooks' tests: it records every
request (headers, body, arrival time) and answers as `behaviour(n, body)` says: (status, delay),
n counting from 1, body the parsed JSON. 3xx answers carry `location` when it is set."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: two workers' twenty deliveries at once overflowed it, and
    # the connections the kernel dropped came back as ReadError a second later (retried, some dead)
    request_queue_size = 128


class Receiver:
    def __init__(self, behaviour=None) -> None:  # type: ignore[no-untyped-def]
        self.got: list[tuple[dict, bytes, float]] = []
        self.lock = threading.Lock()
        self.behaviour = behaviour or (lambda n, body: (200, 0.0))
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, raw, time.monotonic()))
                    n = len(receiver.got)
                status, delay = receiver.behaviour(n, json.loads(raw))
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                if receiver.location and 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def records(self) -> list[dict]:
        """Each JSON body with its arrival time under "at"."""
        with self.lock:
            return [{**json.loads(body), "at": at} for _h, body, at in self.got]

    def bodies(self) -> list[dict]:
        with self.lock:
            return [json.loads(body) for _h, body, _t in self.got]

    def types(self) -> list[str]:
        return [b["type"] for b in self.bodies()]

    def ids(self) -> Counter:
        return Counter(r["id"] for r in self.records())

    def close(self) -> None:
        self.server.shutdown()
