"""Every exchange of the sandbox API tests must match Artie's published OpenAPI spec, or the sandbox drifts from Artie."""

import json

import httpx
import pytest

from artie_sandbox.api import spec as sandbox_spec
from migration_pipeline_tests.integration.test_sandbox_api import *  # noqa: F403 - rerun them here
from migration_pipeline_tests.integration.test_sandbox_api import API_KEY
from migration_pipeline_tests.support.openapi import (
    check_exchange,
    load_openapi,
    load_spec,
    require_spec,
)

pytestmark = require_spec()


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec()


@pytest.fixture(scope="module")
def openapi(spec):
    return load_openapi(spec)


@pytest.fixture
def make_client(openapi, spec):
    """API clients whose every exchange is checked against the spec as it happens."""
    opened = []

    def check(response: httpx.Response) -> None:
        response.read()
        check_exchange(openapi, spec, response)

    def make(base_url: str, api_key: str | None = API_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        opened.append(httpx.Client(base_url=base_url, headers=headers, timeout=10,
                                   event_hooks={"response": [check]}))
        return opened[-1]

    yield make
    for http in opened:
        http.close()


def test_the_checker_rejects_a_response_artie_would_not_send(make_client, base_url, openapi, spec):
    response = make_client(base_url).get("/connectors")
    broken = httpx.Response(200, json={"items": [{"label": "x"}]}, request=response.request)
    with pytest.raises(Exception, match="uuid|required"):
        check_exchange(openapi, spec, broken)


def test_legacy_validate_paths_follow_the_current_schemas(client, world):
    body = {"sourceReaderUUID": world["reader"]["uuid"], "validateTables": True, "tables": []}
    assert client.post("/pipelines/validate-source", content=json.dumps(body)).status_code == 204
    destination = {"destinationUUID": world["dest"]["uuid"],
                   "specificCfg": {"database": "analytics_v1"}}
    response = client.post("/pipelines/validate-destination", content=json.dumps(destination))
    assert response.status_code == 204


def test_the_sandbox_knows_every_operation_of_the_spec(spec):
    """`artie_sandbox.api.spec` is written from the spec: the same codes, no operation forgotten."""
    listed = {(m.upper(), p): frozenset(int(c) for c in op["responses"])
              for p, ops in spec["paths"].items() for m, op in ops.items()}
    served = {op: codes for op, codes in listed.items() if op in sandbox_spec.SERVED}
    assert served == sandbox_spec.SERVED
    assert {f"{m} {p}" for m, p in listed if (m, p) not in served} == set(sandbox_spec.NOT_SERVED)
