"""Prometheus metrics (issue 14): the official prometheus-client, served on their own port
(GATEHOUSE_METRICS_PORT, bound to GATEHOUSE_METRICS_HOST, 127.0.0.1 by default), never on the API's
port and never behind a customer token.

Under `gatehouse serve --workers N` every worker process writes its samples into
PROMETHEUS_MULTIPROC_DIR (set by `serve` before the workers start) and the server process answers
scrapes with their sum (prometheus-client's multiprocess mode). Gauges that describe the database
rather than a process (the outbox's depth) are read from the database at scrape time."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import Scope

log = logging.getLogger("gatehouse.metrics")

REQUESTS = Counter("gatehouse_http_requests_total", "HTTP requests by route template, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("gatehouse_http_request_duration_seconds", "HTTP request latency by route template and method",
                    ["route", "method"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
EVENTS = Counter("gatehouse_events_total", "Events recorded in the trail, by type (access_ticket.created counts "
                 "tickets created; the other access_ticket.* types are status changes)", ["type"])
DELIVERIES = Counter("gatehouse_delivery_attempts_total", "Outbox delivery attempts by channel and outcome "
                     "(delivered, retry, dead)", ["channel", "outcome"])
REFUSALS = Counter("gatehouse_auth_refusals_total", "Refused token requests and console sign-ins, by reason",
                   ["kind", "reason"])
LOCKOUTS = Counter("gatehouse_auth_lockouts_total", "Lock-outs after too many failed attempts", ["kind"])


def route_of(scope: Scope) -> str:
    """The route's template (`/v1/facility-access/access-tickets/{ticketId}`), never the raw path:
    ids in labels would make a series per ticket."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    raw = scope.get("path", "")
    if raw.startswith("/console/static/"):
        return "/console/static/{path}"
    return "unmatched"


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """A counter and a histogram per request, called by the request middleware (kit/middleware.py,
    which already times every request and knows its status): a few microseconds (bench: detail ratio
    with metrics on)."""
    key = (route_of(scope), scope.get("method", ""), status)
    series = _series.get(key)
    if series is None:  # label lookups take a lock each: done once per route, method and status
        series = _series[key] = (REQUESTS.labels(key[0], key[1], str(status)), LATENCY.labels(key[0], key[1]))
    series[0].inc()
    series[1].observe(seconds)


_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


class DatabaseGauges(Collector):
    """Read at scrape time: `query()` returns ((channel, status, count), ...)."""

    def __init__(self, query: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
        self.query = query

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("gatehouse_outbox_messages", "Outbox messages by channel and status "
                                 "(pending = still to deliver)", labels=["channel", "status"])

    def describe(self) -> Iterable[Any]:
        # registering calls describe(), or else collect(): the database is read at scrapes only
        yield self._family()

    def collect(self) -> Iterable[Any]:
        depth = self._family()
        try:
            for channel, status, n in self.query():
                depth.add_metric([channel, status], n)
        except Exception:
            log.warning("could not read the outbox depth", exc_info=True)
        yield depth


def prepare_multiprocess(data_dir: Path) -> None:
    """Before `serve` starts its workers: an empty folder for their samples (last run's are stale)."""
    folder = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or data_dir / "prometheus")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def start_server(host: str, port: int, outbox_depth: Callable[[], Iterable[tuple[str, str, int]]] | None) -> Any:
    """The scrape endpoint on its own port, in a thread of this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    if outbox_depth is not None:
        registry.register(DatabaseGauges(outbox_depth))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server
