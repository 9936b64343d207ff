"""Property-based fuzzing of every operation in /openapi.json, authenticated, all default checks
(no 5xx, status codes documented, responses matching their schemas).

CI runs GATEHOUSE_FUZZ_EXAMPLES (default 50) examples per operation (> 1,000 requests in all);
for a release run, e.g. GATEHOUSE_FUZZ_EXAMPLES=1000 GATEHOUSE_FUZZ_RANDOM=1."""

from __future__ import annotations

import os

import pytest
import schemathesis
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from hypothesis import HealthCheck, settings as hyp_settings

from gatehouse.app import create_app
from tests.factories import make_ticket

EXAMPLES = int(os.environ.get("GATEHOUSE_FUZZ_EXAMPLES", "50"))
# CI replays one fixed sequence (reproducible, never flaky); a release run explores afresh:
# GATEHOUSE_FUZZ_EXAMPLES=1000 GATEHOUSE_FUZZ_RANDOM=1 pytest tests/harness/test_schemathesis.py
DERANDOMIZE = os.environ.get("GATEHOUSE_FUZZ_RANDOM", "") == ""
SENT = {"requests": 0}


@pytest.fixture(scope="module")
def fuzz_app(settings):  # type: ignore[no-untyped-def]
    # Its own app instance: schemathesis drives it from its own event loop.
    return create_app(settings)


@pytest.fixture(scope="module")
def api_schema(fuzz_app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
async def credentials(app, client, db):  # type: ignore[no-untyped-def]
    from tests.factories import Factory

    factory = Factory(db, client)
    tenant = await factory.tenant()
    caller = next(iter(tenant.users.values()))
    for _ in range(3):
        await make_ticket(db, tenant)
    return caller.headers


@schema.parametrize()
@hyp_settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
def test_api_conforms(case, credentials):  # type: ignore[no-untyped-def]
    headers = dict(credentials)
    if case.headers:
        # let the fuzzer vary everything but the credentials
        headers = {**case.headers, "Authorization": credentials["Authorization"]}
        headers.setdefault("Master-Account-Id", credentials["Master-Account-Id"])
        headers.setdefault("Account-Id", credentials["Account-Id"])
    # positive_data_acceptance is excluded: business rules (badge start within 90 days of today in
    # the site's timezone, granted sites, ...) are not expressible in JSON Schema, so schema-valid
    # bodies are rightly refused with 400. Everything else is checked.
    # positive_data_acceptance (schema-valid data must be accepted) finds schemas looser than the
    # server; business rules that JSON Schema cannot say (dates within 90 days of the site's today,
    # granted sites) make it fail by design, so it runs on request: GATEHOUSE_FUZZ_POSITIVE=1
    excluded = [] if os.environ.get("GATEHOUSE_FUZZ_POSITIVE") else [positive_data_acceptance]
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER) and \
            "Authorization" not in (case.headers or {}):
        # the fuzzer left Authorization out on purpose and this harness put it back: the request is no
        # longer the negative one the fuzzer meant, so its acceptance proves nothing either way
        excluded.append(negative_data_rejection)
    SENT["requests"] += 1
    case.call_and_validate(headers=headers, excluded_checks=excluded)


def test_zz_fuzzed_enough():
    """Runs after the fuzz test in this module: SPEC §8 asks for at least 1,000 requests."""
    if SENT["requests"] == 0:
        pytest.skip("the fuzz test was deselected")
    print(f"schemathesis sent {SENT['requests']} requests")
    assert SENT["requests"] >= 1000 or EXAMPLES < 50
