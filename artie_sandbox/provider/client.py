"""The provider's HTTP client for Artie's REST API (the sandbox or the real service).

Requests and error handling follow Artie's own provider (`internal/artieclient`): bearer key,
JSON bodies, a 4xx body `{"error": "..."}` becomes the message, rendered `<message> (HTTP <code>)`.
stdlib only: the provider starts several times per `terraform plan`, so imports must stay cheap.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from artie_sandbox.provider import VERSION

log = logging.getLogger("artie_sandbox.provider")

DEFAULT_TIMEOUT = 30.0


class ArtieError(Exception):
    """An API call failed; `summary`/`detail` are what Terraform shows the operator."""

    def __init__(self, detail: str, status: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.status = status


class ApiError(ArtieError):
    """The API answered with an error status."""


class UnreachableError(ArtieError):
    """Nothing answered at the endpoint."""


class AuthError(ArtieError):
    """The API rejected the key (HTTP 401/403)."""


def unreachable_message(endpoint: str, reason: str) -> str:
    return (
        f"Cannot reach the Artie API at {endpoint} ({reason}). "
        "Is the sandbox running? Start it with `artie-sandbox up`."
    )


AUTH_MESSAGE = (
    "The Artie API rejected the API key (HTTP {status}). Set `api_key` in the provider block or "
    "ARTIE_API_KEY to a valid key; for the sandbox: export ARTIE_API_KEY=$(cat <state dir>/api-key)."
)


@dataclass(frozen=True)
class Client:
    endpoint: str
    api_key: str
    timeout: float = DEFAULT_TIMEOUT

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return the decoded JSON body (None for 204 / empty)."""
        url = self.endpoint.rstrip("/") + "/" + path.lstrip("/")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.api_key}")
        req.add_header("User-Agent", f"terraform-provider-artie/{VERSION} (artie-sandbox)")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        log.info("Making API request: %s %s", method, url)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise _http_error(e.code, e.read()) from e
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise UnreachableError(unreachable_message(self.endpoint, _reason(reason))) from e
        return json.loads(raw) if raw.strip() else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def validate(self, path: str, body: Any, what: str) -> None:
        """POST a `validate-unsaved*` call: a 200 carrying a non-empty `error` is a refusal."""
        response = self.post(path, body)
        if isinstance(response, dict) and response.get("error"):
            raise ApiError(f"{what} validation failed: {response['error']}", 400)


def _reason(reason: Any) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason)


def _http_error(status: int, raw: bytes) -> ArtieError:
    if status in (401, 403):
        return AuthError(AUTH_MESSAGE.format(status=status), status)
    message = ""
    try:
        decoded = json.loads(raw)
        if isinstance(decoded, dict):
            message = str(decoded.get("error") or decoded.get("detail") or "")
    except ValueError:
        pass
    if status == 404:
        return ApiError(f"not found: {message or raw.decode(errors='replace')} (HTTP 404)", 404)
    return ApiError(f"{message or 'server returned a non-200 status code'} (HTTP {status})", status)
