"""`gatehouse demo` as a newcomer runs it: a real process on a real port, restarted."""

from __future__ import annotations


import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from tests.net import free_port, wait_healthy



def _start(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gatehouse", "demo", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return wait_healthy(proc, port)


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_demo_starts_prints_credentials_and_keeps_them(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    proc = _start(data, port)
    try:
        creds_file = data / "demo-credentials.json"
        assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
        creds = json.loads(creds_file.read_text())
        assert set(creds) == {"Random User", "Ann Approver", "Other Customer", "Site Security IAD024", "Operator Admin"}
        ru = creds["Random User"]
        assert ru["master_account_id"] == "100123" and ru["account_id"] == "0011A00001AaAB1ABC"
        base = f"http://127.0.0.1:{port}"
        r = httpx.post(f"{base}/v2/auth/token", data={"grant_type": "client_credentials",
                                                       "client_id": ru["client_id"],
                                                       "client_secret": ru["client_secret"]})
        assert r.status_code == 200
        headers = {"Authorization": f"Bearer {r.json()['access_token']}", "Master-Account-Id": "100123",
                   "Account-Id": "0011A00001AaAB1ABC"}
        sites = httpx.get(f"{base}/v1/sites", headers=headers).json()
        assert {s["site"] for s in sites} == {"IAD024", "DFW010"}
        iad = next(s for s in sites if s["site"] == "IAD024")
        assert iad["address"] == "43830 Devin Shafron Drive (Bldg F)" and iad["timezone"] == "America/New_York"
        locs = httpx.get(f"{base}/v1/locations?site=IAD024", headers=headers).json()
        assert [loc["location"] for loc in locs] == ["ABC Cage F150-B"]  # not XYZ's suite
        other = creds["Other Customer"]
        r = httpx.post(f"{base}/oauth2/v1/token", json={"grant_type": "client_credentials",
                                                         "client_id": other["client_id"],
                                                         "client_secret": other["client_secret"]})
        assert r.status_code == 200 and r.json()["user_name"] == "Other Customer"
    finally:
        out = _stop(proc)
    assert ru["client_secret"] in out  # printed once for the newcomer
    # restart: same secrets still work, nothing duplicated
    proc = _start(data, port)
    try:
        again = json.loads((data / "demo-credentials.json").read_text())
        assert again == creds
        r = httpx.post(f"http://127.0.0.1:{port}/v2/auth/token", data={
            "grant_type": "client_credentials", "client_id": ru["client_id"], "client_secret": ru["client_secret"]})
        assert r.status_code == 200
    finally:
        _stop(proc)
