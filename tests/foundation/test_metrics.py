"""Prometheus metrics (issue 14): on their own port, never the API's; requests by route template,
tickets created and status changes, outbox depth and delivery attempts, token refusals and
lock-outs; summed across `gatehouse serve --workers 2` processes (multiprocess mode)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gatehouse.wiring import start_metrics
from tests.facility_access.conftest import request_for
from tests.harness.test_attack_defects import real_server
from tests.net import free_port

API = "/v1/facility-access"
DETAIL = "/v1/facility-access/access-tickets/{ticketId}"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_on_their_own_port(settings, factory, client):
    metrics_port = free_port()
    on = settings.model_copy(update={"metrics_port": metrics_port})
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    start_metrics(on)
    scrape = f"http://127.0.0.1:{metrics_port}/metrics"
    before = _samples(httpx.get(scrape).text)
    with real_server(on) as (port, _app):
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as c:
            wo = (await c.post(f"{API}/visitors/access-requests", json=[request_for(tenant)],
                               headers=caller.headers)).json()["workOrder"][0]["workOrderId"]
            for _ in range(3):
                assert (await c.get(f"{API}/access-tickets/{wo}", headers=caller.headers)).status_code == 200
            assert (await c.get(f"{API}/access-tickets/WO0000000", headers=caller.headers)).status_code == 404
            r = await c.post("/v2/auth/token", data={"grant_type": "client_credentials", "client_id": caller.client_id,
                                                     "client_secret": "wrong"})
            assert r.status_code == 401
            assert (await c.get("/metrics")).status_code == 404  # not on the API's port
    after = _samples(httpx.get(scrape).text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # by route template, never the raw path: one series for every ticket
    assert delta("gatehouse_http_requests_total", route=DETAIL, method="GET", status="200") == 3
    assert delta("gatehouse_http_requests_total", route=DETAIL, method="GET", status="404") == 1
    assert not any(wo in str(k) for k in after)
    assert delta("gatehouse_http_request_duration_seconds_count", route=DETAIL, method="GET") == 4
    assert delta("gatehouse_events_total", type="access_ticket.created") >= 1
    assert delta("gatehouse_auth_refusals_total", kind="token", reason="wrong_secret") == 1
    # the outbox's depth is read from the database at scrape time
    assert any(name == "gatehouse_outbox_messages" for name, _ in after)


def test_serve_with_two_workers_sums_their_samples(tmp_path):
    """`gatehouse serve --workers 2`: requests land on either process; the scrape counts them all."""
    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "GATEHOUSE_DATA_DIR": str(tmp_path), "GATEHOUSE_DATABASE_URL": "",
           "GATEHOUSE_METRICS_PORT": str(metrics_port), "GATEHOUSE_WORKER": "external",
           "GATEHOUSE_JOBS_ENABLED": "false", "GATEHOUSE_ACCESS_LOG": "false"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gatehouse", "serve", "--workers", "2", "--port", str(port)],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for _ in range(40):  # new connections: both processes take some
            r = httpx.get(f"http://127.0.0.1:{port}/v1/sites")
            assert r.status_code == 401
        text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert _value(_samples(text), "gatehouse_http_requests_total", route="/v1/sites", method="GET",
                      status="401") == 40
        # the serving processes wrote their samples to files; this process (the scrape's) served none
        assert list(tmp_path.rglob("prometheus/counter_*.db"))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
