"""A small client for Artie's public REST API: pipelines and source readers, read only but for
one call: starting a pipeline whose create was interrupted before Artie's provider started it.

The API key is sent as a bearer token and never appears in a repr, an error or a log line.
"""

from __future__ import annotations

import logging

import httpx

from migration_pipeline.artie.models import PipelineDetail, PipelineSummary, SourceReaderDetail
from migration_pipeline.errors import ArtieApiError

log = logging.getLogger(__name__)


class ArtieClient:
    """`GET /pipelines`, `GET /pipelines/{uuid}`, `GET /source-readers/{uuid}`."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30,
                 transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport,
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
        return [self.get_pipeline(p.uuid) for p in self.list_pipelines()
                if p.source_reader_uuid == reader_uuid]

    def start_pipeline(self, uuid: str) -> None:
        """`POST /pipelines/{uuid}/start`: what Artie's provider does right after a create; only
        called to finish a create that was stopped between the two."""
        self._call("POST", f"/pipelines/{uuid}/start", {})

    def _get(self, path: str) -> dict:
        return self._call("GET", path)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        log.debug("%s %s%s", method, self.base_url, path)
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise ArtieApiError(
                f"Could not reach Artie's API at {self.base_url} ({type(e).__name__}). "
                "Check artie.api_url and that the service (or `artie-sandbox up`) is running."
            ) from e
        if response.status_code == 401 or response.status_code == 403:
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
            raise ArtieApiError(f"{method} {path} did not return JSON",
                                response.status_code) from e


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body.get("detail") or body)[:200]
    return str(body)[:200]
