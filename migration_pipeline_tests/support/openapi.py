"""Artie's published OpenAPI spec as tests use it: where it is, and a checker for one HTTP exchange.

Tests that check exchanges against the spec run wherever ../shared/reference exists (or
$ARTIE_REFERENCE_DIR points); without it they fail when CI is set and skip with `MISSING`
otherwise (`require_spec()` at module level does both).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema
import pytest
import yaml

from artie_sandbox.api import spec as sandbox_spec

# ../shared/reference beside the repository, or where $ARTIE_REFERENCE_DIR points (a worktree).
REFERENCE = (
    os.environ.get("ARTIE_REFERENCE_DIR")
    or Path(__file__).resolve().parents[2].parent / "shared" / "reference"
)
SPEC_PATH = Path(REFERENCE) / "artie-openapi.yaml"
MISSING = (
    f"Artie's OpenAPI spec is not at {SPEC_PATH} (../shared/reference beside the "
    "repository or $ARTIE_REFERENCE_DIR: only CI and the maintainers' machines have it)"
)


def require_spec() -> pytest.MarkDecorator:
    """The `pytestmark` of a module that checks exchanges: fails at import in CI without the
    spec (a skipped conformance run would pass without checking), skips elsewhere."""
    if not SPEC_PATH.exists() and os.environ.get("CI"):
        raise RuntimeError(
            f"{MISSING}; CI is set, so the conformance tests fail instead of skipping"
        )
    return pytest.mark.skipif(not SPEC_PATH.exists(), reason=MISSING)


# The older provider's validate paths are aliases of today's (the spec lists only these).
_ALIASES = {
    "/pipelines/validate-source": "/pipelines/validate-unsaved-source",
    "/pipelines/validate-destination": "/pipelines/validate-unsaved-destination",
}


def load_spec() -> dict:
    document = yaml.safe_load(SPEC_PATH.read_text())
    # The one documented deviation: the sandbox's own connector types (an SQLite source and a
    # DuckDB destination) stand in for MySQL and Snowflake/MotherDuck, so they are added to
    # Artie's connector enum; every other schema is checked as published.
    document["components"]["schemas"]["EnumsConnectorSlug"]["enum"] += ["sqlite", "duckdb"]
    return document


def load_openapi(spec: dict):
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
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


# Codes answered outside an operation's list, each documented in docs/operators-guide.md's sandbox
# section.
DEVIATIONS = {
    401: "every operation: a missing or wrong API key",
    429: "every operation: the api_errors fault injected as a rate limit",
    503: "every operation: the api_errors fault injected on purpose",
}


def spec_operation(spec: dict, method: str, path: str) -> tuple[str, dict] | None:
    """The spec's template and operation for a request path (literal segments win)."""
    matches = [
        (template, ops[method])
        for template, ops in spec["paths"].items()
        if method in ops and re.fullmatch(re.sub(r"\{[^/]+\}", "[^/]+", template), path)
    ]
    return min(matches, key=lambda m: m[0].count("{")) if matches else None


def check_status(spec: dict, request: _Request, status: int) -> None:
    """The status is one the operation lists, a documented deviation, or the answer for an
    operation the sandbox does not serve (501) or that Artie's API does not have (404/405)."""
    found = spec_operation(spec, request.method, request.path)
    if found is None:
        assert status in (404, 405), (request.method, request.path, status)
        return
    template, operation = found
    if (request.method.upper(), template) not in sandbox_spec.SERVED:
        assert status == 501, (request.method, template, status)
        return
    listed = {int(code) for code in operation["responses"]}
    assert status in listed or status in DEVIATIONS, (
        request.method,
        template,
        status,
        sorted(listed),
    )


def check_exchange(openapi, spec: dict, response: httpx.Response) -> None:
    """Raises when the request or the response of one exchange does not match the spec."""
    request = _Request(response.request)
    check_status(spec, request, response.status_code)
    off_spec = response.request.extensions.get("off_spec", False)
    if response.status_code != 401 and not off_spec:  # a wrong key is refused before reading
        openapi.validate_request(request)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body, dict) and list(body) == ["error"] and isinstance(body["error"], str)
        return
    detail = response.request.url.params.get("includeRelatedObjects") == "true"
    if request.method == "get" and request.path.startswith("/pipelines/") and not detail:
        # The spec's own description: without includeRelatedObjects=true the detail endpoint
        # "returns FullPipeline only" (its response schema names only the detailed shape).
        _schema_validator(spec, "PayloadsFullPipeline").validate(response.json())
        return
    openapi.validate_response(request, _Response(response))
