"""Request-rate load from `wrk` (Debian package; SPEC §7): a C load generator in its own process, so
the figures measure the server, not a Python client sharing its cores. A Lua script sets the
method, headers and body, and prints wrk's summary as JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

LUA = """
wrk.method = {method}
{headers}
{body}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON{{"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(value: str) -> str:
    level = "=" * 4  # a long bracket no JSON body contains
    return f"[{level}[{value}]{level}]"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk",
                       shell=True, check=False, capture_output=True)
        path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is needed for the request-rate figures: apt-get install wrk")
    return path


def multipart_body(part: dict) -> tuple[str, Path]:
    """`{"field", "filename", "path"}` as one multipart/form-data body, written beside the file."""
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    source = Path(part["path"])
    out = source.with_name(source.name + ".multipart")
    if not out.exists() or out.stat().st_mtime < source.stat().st_mtime:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{part["field"]}"; '
                f'filename="{part["filename"]}"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        out.write_bytes(head + source.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    return boundary, out


def run(spec: dict) -> dict:
    wrk = ensure_wrk()
    headers = "\n".join(f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in spec.get("headers", {}).items())
    body = f"wrk.body = {_lua_string(spec['body'])}" if spec.get("body") else ""
    if spec.get("multipart"):  # a file upload: the body is encoded once to a file, which wrk reads
        boundary, path = multipart_body(spec["multipart"])
        headers += f"\nwrk.headers['Content-Type'] = 'multipart/form-data; boundary={boundary}'"
        body = f"local fh = io.open({_lua_string(str(path))}, 'rb')\nwrk.body = fh:read('*a')\nfh:close()"
    script = LUA.format(method=_lua_string(spec.get("method", "GET")), headers=headers, body=body)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        cmd = [wrk, "-t1", f"-c{spec.get('concurrency', 16)}", f"-d{max(1, round(spec.get('duration', 3)))}s",
               "--timeout", "10s", "-s", fh.name, spec["url"]]
        if spec.get("client_cpus") is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(spec["client_cpus"]), *cmd]
        elif spec.get("cpu") is not None and shutil.which("taskset"):
            cmd = ["taskset", "-c", str(spec["cpu"]), *cmd]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(fh.name)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON")), None)
    if line is None:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[len("WRKJSON"):])
    seconds = r["duration_us"] / 1e6
    ok = r["requests"] - r["non2xx"]
    return {"requests": r["requests"], "rps": round(r["requests"] / seconds, 1), "p50_ms": round(r["p50_us"] / 1000, 2),
            "p99_ms": round(r["p99_us"] / 1000, 2), "errors": r["errors"] + r["non2xx"],
            "statuses": {"2xx": ok, "non-2xx": r["non2xx"]}, "seconds": round(seconds, 2), "generator": "wrk"}
