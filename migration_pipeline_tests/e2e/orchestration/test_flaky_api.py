"""A whole migration completes while Artie's API (the sandbox's api-errors fault) answers the first calls of every sensor tick and run with 503s or a 429 + Retry-After (counted, so the test does not depend on how fast the client comes back): the client's retries carry it, the module ends as expected."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from migration_pipeline.phases import Phase
from migration_pipeline_tests.support.demo import prepared_demo
from sandbox_demo.driver import Driver
from sandbox_demo.prepare import MIGRATION

BURSTS = ({"status": 503, "count": 2}, {"status": 429, "count": 1, "retry_after": 1})


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch) as ready:
        yield ready


@pytest.mark.timeout(300)
def test_the_migration_completes_through_an_api_that_keeps_failing(prepared, caplog):
    caplog.set_level(logging.WARNING, logger="migration_pipeline.artie.client")
    control = httpx.Client(
        base_url=prepared.sandbox.endpoint(),
        timeout=10,
        headers={"Authorization": f"Bearer {prepared.env['ARTIE_API_KEY']}"},
    )
    driver = Driver.from_file(prepared.config, MIGRATION)

    def burst(n: int) -> None:
        response = control.post("/sandbox/faults", json={"kind": "api_errors", **BURSTS[n % 2]})
        assert response.status_code == 201, response.text

    try:
        with driver.instance() as instance:
            burst(0)
            driver.launch(instance)  # a person's launch meets a 503 burst first
            approved, phase, n = False, None, 1
            deadline = time.monotonic() + 240
            while phase != Phase.COMPLETE:
                assert time.monotonic() < deadline, f"stuck in {phase}"
                burst(n)
                n += 1
                outcome = driver.step(instance)
                phase = outcome.phase
                if outcome.awaiting_approval and not approved:
                    driver.approve(instance, "e2e", "clean through a flaky API")
                    approved = True
                time.sleep(0.5)
    finally:
        control.delete("/sandbox/faults", params={"kind": "api_errors"})
        control.close()
    retried = caplog.text
    assert "answered 503: injected fault" in retried and "answered 429: injected fault" in retried
    assert "in 1.0 s" in retried  # a 429's Retry-After: 1 was honoured
    assert prepared.env["ARTIE_API_KEY"] not in retried
    assert approved and n >= 4
    with httpx.Client(
        base_url=prepared.sandbox.endpoint(),
        timeout=10,
        headers={"Authorization": f"Bearer {prepared.env['ARTIE_API_KEY']}"},
    ) as api:
        names = [p["name"] for p in api.get("/pipelines").json()["items"]]
    assert names == ["analytics_v2"]
