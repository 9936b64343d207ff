"""Issue 20 #20: a command run where there is no database, or whose database cannot be reached,
says so in one line naming the database, exits non-zero, and creates nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.net import free_port


def _run(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    return subprocess.run([sys.executable, "-m", "gatehouse", *args], cwd=tmp_path, env={**clean, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [("admin", "site", "list"), ("ops", "roster", "--operator", "x"), ("worker",)])
def test_an_empty_folder_stays_empty(tmp_path, args):
    r = _run(tmp_path, *args)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no Gatehouse database at" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [("admin", "site", "list"), ("worker",)])
def test_an_unreachable_database_is_named_without_its_password(tmp_path, args):
    url = f"postgresql://gh:s3cret@127.0.0.1:{free_port()}/gatehouse"
    r = _run(tmp_path, *args, GATEHOUSE_DATABASE_URL=url)
    assert r.returncode != 0
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the database postgresql://gh:***@"), r.stderr
    assert "s3cret" not in r.stderr and "Traceback" not in r.stderr
