"""`gatehouse admin ...` against the test database: --json output, one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gatehouse.cli.main import cli
from tests.factories import rand


@pytest.fixture
def run(settings, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GATEHOUSE_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEHOUSE_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args))

    return invoke


def test_full_tenant_setup_via_cli(run):
    master, account, site = rand(6), rand(18), rand(6)
    user = f"CLI User {rand(5)}"
    r = run("admin", "master-account", "create", "--id", master, "--name", "CLI Holding", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output) == {"masterAccountId": master, "name": "CLI Holding"}
    assert run("admin", "account", "create", "--id", account, "--master", master, "--name", "CLI Co").exit_code == 0
    r = run("admin", "site", "create", "--code", site, "--timezone", "Europe/Amsterdam", "--city", "Amsterdam",
            "--json")
    assert r.exit_code == 0 and json.loads(r.output)["timezone"] == "Europe/Amsterdam"
    assert run("admin", "location", "create", "--site", site, "--name", "Hall 1").exit_code == 0
    assert run("admin", "location", "create", "--site", site, "--name", "Cage 9", "--parent", "Hall 1").exit_code == 0
    assert run("admin", "grant", "location", "--account", account, "--site", site, "--location", "Hall 1").exit_code == 0
    assert run("admin", "user", "create", "--name", user, "--master", master).exit_code == 0
    r = run("admin", "user", "grant", "--name", user, "--account", account, "-p", "tickets:read", "--default", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["permissions"] == ["tickets:read"]
    r = run("admin", "app", "create", "--user", user, "--json")
    assert r.exit_code == 0
    creds = json.loads(r.output)
    assert len(creds["client_secret"]) >= 32
    r = run("admin", "app", "list", "--json")
    listed = [a for a in json.loads(r.output) if a["client_id"] == creds["client_id"]]
    assert listed and "client_secret" not in listed[0]
    r = run("admin", "location", "list", "--site", site, "--json")
    assert {row["location"] for row in json.loads(r.output)} == {"Hall 1", "Cage 9"}
    for what in ("master-account", "account", "user", "operator", "app", "site"):
        r = run("admin", what, "list", "--json")
        assert r.exit_code == 0, (what, r.output)
        assert isinstance(json.loads(r.output), list)


@pytest.mark.parametrize("args, fragment", [
    (("admin", "account", "create", "--id", "short", "--master", "x", "--name", "n"), "18"),
    (("admin", "account", "create", "--id", "A" * 18, "--master", "NOPE", "--name", "n"), "does not exist"),
    (("admin", "site", "create", "--code", "ABC123", "--timezone", "Mars/Base"), "IANA"),
    (("admin", "site", "create", "--code", "toolong7", "--timezone", "UTC"), "6"),
    (("admin", "user", "grant", "--name", "Nobody Here", "--account", "A" * 18, "-p", "tickets:read"), "does not exist"),
    (("admin", "app", "rotate", "--client-id", "unknown"), "No app"),
    (("admin", "location", "create", "--site", "NOSITE", "--name", "x"), "does not exist"),
])
def test_wrong_input_is_one_line_nonzero(run, args, fragment):
    r = run(*args)
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0], r.output


def test_duplicate_is_an_error(run):
    master = rand(6)
    assert run("admin", "master-account", "create", "--id", master, "--name", "A").exit_code == 0
    r = run("admin", "master-account", "create", "--id", master, "--name", "A")
    assert r.exit_code == 1 and "already exists" in r.output


def test_unknown_permission_rejected(run):
    master, account = rand(6), rand(18)
    run("admin", "master-account", "create", "--id", master, "--name", "A")
    run("admin", "account", "create", "--id", account, "--master", master, "--name", "A")
    name = f"U {rand(5)}"
    run("admin", "user", "create", "--name", name, "--master", master)
    r = run("admin", "user", "grant", "--name", name, "--account", account, "-p", "root")
    assert r.exit_code == 1 and "unknown permission" in r.output
