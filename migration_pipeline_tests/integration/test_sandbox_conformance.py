"""Every exchange of the sandbox API tests must match Artie's published OpenAPI spec, or the sandbox drifts from Artie."""

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import yaml

from migration_pipeline_tests.integration.test_sandbox_api import *  # noqa: F403 - rerun them here
from migration_pipeline_tests.integration.test_sandbox_api import API_KEY

SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "artie-openapi.yaml"

pytestmark = pytest.mark.skipif(
    not SPEC_PATH.exists(),
    reason="Artie's OpenAPI spec is not in ../shared/reference (only CI and the maintainers' "
           "machines have it)",
)

# The older provider's validate paths are aliases of today's (the spec lists only these).
_ALIASES = {"/pipelines/validate-source": "/pipelines/validate-unsaved-source",
            "/pipelines/validate-destination": "/pipelines/validate-unsaved-destination"}


@pytest.fixture(scope="module")
def spec() -> dict:
    document = yaml.safe_load(SPEC_PATH.read_text())
    # The one documented deviation: the sandbox's own connector types (an SQLite source and a
    # DuckDB destination) stand in for MySQL and Snowflake/MotherDuck, so they are added to
    # Artie's connector enum; every other schema is checked as published.
    document["components"]["schemas"]["EnumsConnectorSlug"]["enum"] += ["sqlite", "duckdb"]
    return document


@pytest.fixture(scope="module")
def openapi(spec):
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(spec)


class _Request:
    """An httpx request as openapi-core reads it, addressed to Artie's server URL."""

    def __init__(self, request: httpx.Request):
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        url = urlsplit(str(request.url))
        self.host_url = "https://api.artie.com"
        self.path = _ALIASES.get(url.path, url.path)
        self.method = request.method.lower()
        self.body = request.content or None
        # Artie's Go client sends JSON without a Content-Type; the spec only knows JSON bodies.
        self.content_type = "application/json"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(url.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class _Response:
    def __init__(self, response: httpx.Response):
        self.status_code = response.status_code
        self.headers = dict(response.headers)
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content or None


def _schema_validator(spec: dict, name: str) -> jsonschema.Draft202012Validator:
    root = {**spec, "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def check_exchange(openapi, spec: dict, response: httpx.Response) -> None:
    """Raises when the request or the response of one exchange does not match the spec."""
    request = _Request(response.request)
    off_spec = response.request.extensions.get("off_spec", False)
    if response.status_code != 401 and not off_spec:  # a wrong key is refused before reading
        openapi.validate_request(request)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and list(body) == ["error"] and isinstance(body["error"], str)
        return
    detail = response.request.url.params.get("includeRelatedObjects") == "true"
    if (request.method == "get" and request.path.startswith("/pipelines/") and not detail):
        # The spec's own description: without includeRelatedObjects=true the detail endpoint
        # "returns FullPipeline only" (its response schema names only the detailed shape).
        _schema_validator(spec, "PayloadsFullPipeline").validate(response.json())
        return
    openapi.validate_response(request, _Response(response))


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
