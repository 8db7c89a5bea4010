"""A small client for Artie's public REST API: pipelines and source readers, read only but for
one call: starting a pipeline whose create was interrupted before Artie's provider started it.

Every call has a timeout and is retried with exponential backoff when Artie answers 429
(waiting what `Retry-After` asks, up to `RetryPolicy.max_delay`) or a 5xx, or cannot be reached;
after the last try it raises one `ArtieApiError` naming the call, the tries and the last answer.
The API key is sent as a bearer token and never appears in a repr, an error or a log line.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from migration_pipeline.artie.models import PipelineDetail, PipelineSummary, SourceReaderDetail
from migration_pipeline.errors import ArtieApiError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How long one call may take and how often it is tried.

    `attempts` tries in all; between tries `base_delay * 2**n` seconds (capped at `max_delay`),
    or what a 429's `Retry-After` asks (also capped at `max_delay`, so a worker is never held
    for longer than that per try). `timeout` bounds each request; `connect_timeout` its connect.
    """

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    timeout: float = 30.0
    connect_timeout: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after try number `attempt` (1-based) failed."""
        wanted = retry_after if retry_after is not None else self.base_delay * 2 ** (attempt - 1)
        return max(0.0, min(wanted, self.max_delay))


# 429: Artie rate-limits; 5xx: Artie (or a proxy in front of it) failed; both are worth a retry.
RETRYABLE = frozenset({429, 500, 502, 503, 504})


class ArtieClient:
    """`GET /pipelines`, `GET /pipelines/{uuid}`, `GET /source-readers/{uuid}`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(retry.timeout, connect=retry.connect_timeout),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"ArtieClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArtieClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def list_pipelines(self) -> list[PipelineSummary]:
        return [PipelineSummary.from_wire(p) for p in self._get("/pipelines").get("items") or []]

    def get_pipeline(self, uuid: str) -> PipelineDetail:
        return PipelineDetail.from_wire(self._get(f"/pipelines/{uuid}"))

    def get_connector(self, uuid: str) -> dict:
        """A connector as `GET /connectors/{uuid}` reports it (`type`, `sharedConfig`)."""
        return self._get(f"/connectors/{uuid}")

    def get_source_reader(self, uuid: str) -> SourceReaderDetail:
        return SourceReaderDetail.from_wire(self._get(f"/source-readers/{uuid}"))

    def pipelines_on_reader(self, reader_uuid: str) -> list[PipelineDetail]:
        """Every pipeline attached to the reader, with its tables."""
        return [
            self.get_pipeline(p.uuid)
            for p in self.list_pipelines()
            if p.source_reader_uuid == reader_uuid
        ]

    def start_pipeline(self, uuid: str) -> None:
        """`POST /pipelines/{uuid}/start`: what Artie's provider does right after a create; only
        called to finish a create that was stopped between the two (starting a started
        pipeline changes nothing, so a retry is safe)."""
        self._call("POST", f"/pipelines/{uuid}/start", {})

    def _get(self, path: str) -> dict:
        return self._call("GET", path)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        started = time.monotonic()
        tries = self.retry.attempts
        for attempt in range(1, tries + 1):
            log.debug("%s %s%s (try %d)", method, self.base_url, path, attempt)
            status, retry_after = None, None
            try:
                response = self._http.request(method, path, json=body)
            except httpx.HTTPError as e:
                last, unreachable = type(e).__name__, e
            else:
                if response.status_code not in RETRYABLE:
                    return _result(method, path, response)
                status, unreachable = response.status_code, None
                last, retry_after = f"{status}: {_detail(response)}", _retry_after(response)
            if attempt < tries:
                wait = self.retry.delay(attempt, retry_after)
                log.warning(
                    "Artie's API: %s %s answered %s; try %d of %d in %.1f s",
                    method,
                    path,
                    last,
                    attempt + 1,
                    tries,
                    wait,
                )
                self._sleep(wait)
        spent = f"{tries} tries in {time.monotonic() - started:.0f} s"
        if unreachable is not None:
            raise ArtieApiError(
                f"Could not reach Artie's API at {self.base_url} ({last}) after {spent}. "
                "Check artie.api_url and that the service (or `artie-sandbox up`) is running."
            ) from unreachable
        raise ArtieApiError(
            f"{method} {path} failed with {last} ({spent}). Artie's API is down or "
            "rate-limiting: check Artie's status page, then launch again (the migration "
            "resumes where it stopped).",
            status,
        )


def _result(method: str, path: str, response: httpx.Response) -> dict:
    if response.status_code in (401, 403):
        raise ArtieApiError(
            f"Artie's API refused the key for {method} {path} ({response.status_code}). "
            "Check the environment variable named by artie.api_key_env.",
            response.status_code,
        )
    if response.status_code >= 400:
        raise ArtieApiError(
            f"{method} {path} failed with {response.status_code}: {_detail(response)}",
            response.status_code,
        )
    try:
        return response.json() if response.content else {}
    except ValueError as e:
        raise ArtieApiError(f"{method} {path} did not return JSON", response.status_code) from e


def _retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP date), None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body.get("detail") or body)[:200]
    return str(body)[:200]
