#!/usr/bin/env bash
# Installs everything the tests need into .venv (from nothing) and runs the suite twice:
# on the embedded SQLite default, then on PostgreSQL (required in CI, never skipped there).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24" 2>&1 | grep -v '^WARNING: Location' || true
# Editable, as the README's first command installs it: running the tests never swaps the
# `gatehouse` a newcomer runs for a copy of the code as it was.
# (its output, setuptools' editable-install notice included, is shown only if the install failed)
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]' > .venv/install.log 2>&1 || true
.venv/bin/python -c "import gatehouse, fastapi, sqlalchemy, moto, schemathesis, playwright" \
  || { cat .venv/install.log; exit 1; }  # fail loudly if the install failed
# The wheel a regular install gets carries the templates, migrations and static files.
WHEEL_DIR=$(mktemp -d)
.venv/bin/python -m pip wheel -q --no-deps -c constraints.txt -w "$WHEEL_DIR" . 2>&1 | grep -v '^WARNING' || true
.venv/bin/python - "$WHEEL_DIR" <<'PYEOF'
import glob, sys, zipfile
names = zipfile.ZipFile(glob.glob(sys.argv[1] + "/gatehouse-*.whl")[0]).namelist()
needed = ["gatehouse/console/templates/base.html", "gatehouse/console/static/console.js",
          "gatehouse/console/static/favicon.ico", "gatehouse/console/templates/portal/new.html",
          "gatehouse/notifications/templates/visitor_pass.html", "gatehouse/visits/templates/visit.html",
          "gatehouse/migrations/versions/0025_roll_call_index.py"]
missing = [n for n in needed if n not in names]
sys.exit(f"the wheel lacks {missing}" if missing else 0)
PYEOF
rm -rf "$WHEEL_DIR"

# The client generator lives in its own venv: it pins a typer older than Gatehouse's own.
if [ ! -x .tools/bin/openapi-python-client ]; then
  "$PY" -m venv .tools
  .tools/bin/python -m pip install -q "openapi-python-client==0.29.1" 2>&1 | grep -v '^WARNING: Location' || true
fi

# Lint before anything runs
# (ruff pinned: a newer one may add rules to the families selected in pyproject.toml)
if [ "$(.tools/bin/ruff --version 2>/dev/null)" != "ruff 0.17.6" ]; then
  .tools/bin/python -m pip install -q "ruff==0.17.6" 2>&1 | grep -v '^WARNING: Location' || true
fi
.tools/bin/ruff check --quiet gatehouse  # the rules pyproject.toml selects: pyflakes, imports, pyupgrade, bugbear, ruff
.tools/bin/ruff check --quiet --select F,E9 tests bench
# Types: the [tool.mypy] settings in pyproject.toml (pydantic plugin, unused ignores are errors)
.venv/bin/python -m mypy

# Debian's chromium for the browser tests (Playwright drives it; no browser download)
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (Debian) =="
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
  fi
  command -v chromium >/dev/null 2>&1 || echo "chromium is not installed: the browser tests will be skipped (never in CI)" >&2
fi

# A real OpenID provider for the sign-in tests: npm's oidc-provider on Debian's Node.js (no lock
# file: the exact version is named here)
if ! command -v node >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1 || true
fi
if command -v npm >/dev/null 2>&1 && [ ! -d .tools/oidc/node_modules/oidc-provider ]; then
  mkdir -p .tools/oidc
  npm install --prefix .tools/oidc --no-audit --no-fund --no-package-lock --silent oidc-provider@9.13.3 \
    || echo "npm could not install oidc-provider: the sign-in tests will fail in CI" >&2
fi

# DejaVu Sans for the printed badges' names in any script (the badge falls back to Latin-1 without it)
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] && [ "$(id -u)" = "0" ] \
    && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core) >/dev/null 2>&1 || true
fi

PG_URL=${GATEHOUSE_TEST_PG_URL:-postgresql://127.0.0.1:5432/test}
pg_ok() { .venv/bin/python - "$PG_URL" <<'PYEOF'
import asyncio, sys, asyncpg
async def main():
    conn = await asyncpg.connect(sys.argv[1], timeout=5)
    await conn.close()
asyncio.run(main())
PYEOF
}

echo "== tests on SQLite =="
.venv/bin/python -m pytest -q "$@"

echo "== tests on PostgreSQL ($PG_URL) =="
if ! pg_ok 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    sleep 2
  fi
fi
if ! pg_ok; then
  echo "PostgreSQL is not reachable at $PG_URL; the PostgreSQL run is required." >&2
  exit 1
fi
GATEHOUSE_TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -q "$@"
