"""The Artie client rides out the sandbox's injected 429s and 5xx over real HTTP, gives up with a clear keyless error, and every exchange matches Artie's OpenAPI spec."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from migration_pipeline.artie.client import ArtieClient, RetryPolicy
from migration_pipeline.errors import ArtieApiError
from migration_pipeline_tests.support.openapi import (
    check_exchange,
    load_openapi,
    load_spec,
    require_spec,
)

pytestmark = require_spec()


class CheckedTransport(httpx.HTTPTransport):
    """Real HTTP; each exchange is checked against the spec and counted by status."""

    def __init__(self):
        super().__init__()
        self.spec = load_spec()
        self.openapi = load_openapi(self.spec)
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        response.request = request
        check_exchange(self.openapi, self.spec, response)
        self.statuses.append(response.status_code)
        return response


@pytest.fixture
def inject(sandbox):
    """Adds an api_errors fault to the shared sandbox; cleared afterwards whatever happens."""

    control = httpx.Client(
        base_url=sandbox.endpoint,
        timeout=10,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
    )

    def add(**fault) -> None:
        response = control.post("/sandbox/faults", json={"kind": "api_errors", **fault})
        assert response.status_code == 201, response.text

    yield add
    control.delete("/sandbox/faults", params={"kind": "api_errors"})
    control.close()


def client(sandbox, transport: CheckedTransport, waits: list, **retry) -> ArtieClient:
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    return ArtieClient(
        sandbox.endpoint,
        sandbox.api_key,
        transport=transport,
        sleep=sleep,
        retry=RetryPolicy(**retry),
    )


def test_a_burst_of_503s_is_retried_until_the_api_answers(sandbox, inject):
    transport, waits = CheckedTransport(), []
    inject(seconds=1.2, status=503)
    with client(sandbox, transport, waits, base_delay=0.4) as api:
        pipelines = api.list_pipelines()
    assert isinstance(pipelines, list)
    assert transport.statuses[0] == 503 and transport.statuses[-1] == 200
    assert set(transport.statuses[:-1]) == {503}
    assert waits == [0.4, 0.8, 1.6][: len(waits)] and len(waits) >= 2


def test_a_429_waits_what_retry_after_asks(sandbox, inject):
    transport, waits = CheckedTransport(), []
    inject(seconds=0.8, status=429, retry_after=1)
    started = time.monotonic()
    with client(sandbox, transport, waits, base_delay=0.05) as api:
        api.list_pipelines()
    assert waits[0] == 1.0
    assert time.monotonic() - started >= 1.0
    assert transport.statuses == [429, 200]


def test_after_the_last_try_the_error_says_what_to_do_and_hides_the_key(sandbox, inject, caplog):
    caplog.set_level(logging.DEBUG)
    transport, waits = CheckedTransport(), []
    inject(seconds=30, status=500)
    with client(sandbox, transport, waits, attempts=3, base_delay=0.1) as api:
        with pytest.raises(ArtieApiError) as error:
            api.list_pipelines()
    assert str(error.value) == (
        "GET /pipelines failed with 500: injected fault: the sandbox API answers 500 (clear it "
        "with `artie-sandbox fault clear`) (3 tries in 0 s). Artie's API is down or "
        "rate-limiting: check Artie's status page, then launch again (the migration resumes "
        "where it stopped)."
    )
    assert (error.value.status_code, transport.statuses, waits) == (500, [500] * 3, [0.1, 0.2])
    for text in (str(error.value), caplog.text):
        assert sandbox.api_key not in text
