"""The Artie API client reads pipelines and readers into typed values and never leaks its key."""

from __future__ import annotations

import logging

import httpx
import pytest

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.artie.models import (
    PipelineDetail,
    PipelineSummary,
    ReaderTableDetail,
    TableStatus,
)
from migration_pipeline.errors import ArtieApiError

KEY = "arsk_test_0123456789abcdef"
READER = "11111111-1111-1111-1111-111111111111"
PIPELINES = {
    "p-old": {"uuid": "p-old", "name": "orders", "sourceReaderUUID": READER,
              "destinationUUID": "d-1", "status": "running",
              "tables": [{"name": "orders", "schema": "shop", "status": "streaming",
                          "backfillStage": "done", "enableHistoryMode": False}]},
    "p-other": {"uuid": "p-other", "name": "elsewhere", "sourceReaderUUID": "r-2",
                "status": "paused", "tables": []},
}


class FakeArtie:
    """Answers like Artie's API for the three read endpoints; records what it was asked."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"error": "invalid API key"})
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "boom"})
        path = request.url.path
        if path == "/pipelines":
            return httpx.Response(200, json={"items": [
                {k: v for k, v in p.items() if k != "tables"} for p in PIPELINES.values()]})
        if path.startswith("/pipelines/") and path[11:] in PIPELINES:
            return httpx.Response(200, json=PIPELINES[path[11:]])
        if path == f"/source-readers/{READER}":
            return httpx.Response(200, json={
                "uuid": READER, "name": "prod", "connectorUUID": "c-1", "isShared": True,
                "status": "running", "tablesConfig": {"shop.orders": {"name": "orders",
                                                                      "schema": "shop"}}})
        return httpx.Response(404, json={"error": "not found"})


def client(fake: FakeArtie, key: str = KEY) -> ArtieClient:
    return ArtieClient("https://api.artie.test/", key, transport=httpx.MockTransport(fake))


def test_pipelines_on_a_reader_come_with_their_tables():
    fake = FakeArtie()
    (pipeline,) = client(fake).pipelines_on_reader(READER)
    assert pipeline == PipelineDetail(
        uuid="p-old", name="orders", source_reader_uuid=READER, destination_uuid="d-1",
        status="running", tables=(TableStatus("orders", "shop", "streaming", "done", False),),
    )
    assert [r.url.path for r in fake.requests] == ["/pipelines", "/pipelines/p-old"]


def test_list_and_reader_detail():
    api = client(FakeArtie())
    assert api.list_pipelines()[1] == PipelineSummary("p-other", "elsewhere", "r-2", None,
                                                       "paused")
    reader = api.get_source_reader(READER)
    assert (reader.is_shared, reader.tables) == (True, (ReaderTableDetail("orders", "shop"),))


def test_a_refused_key_says_where_to_look_and_never_shows_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    api = client(FakeArtie(), key="arsk_wrong_secret_value")
    with pytest.raises(ArtieApiError) as error:
        api.list_pipelines()
    assert str(error.value) == (
        "Artie's API refused the key for GET /pipelines (401). Check the environment variable "
        "named by artie.api_key_env."
    )
    assert error.value.status_code == 401
    for text in (str(error.value), repr(api), caplog.text):
        assert "arsk_wrong_secret_value" not in text


def test_a_server_error_reports_status_and_message():
    with pytest.raises(ArtieApiError) as error:
        client(FakeArtie(status=500)).get_pipeline("p-old")
    assert str(error.value) == "GET /pipelines/p-old failed with 500: boom"


def test_an_unreachable_api_names_the_url():
    def unreachable(request):
        raise httpx.ConnectError("connection refused", request=request)

    api = ArtieClient("http://127.0.0.1:9", KEY, transport=httpx.MockTransport(unreachable))
    with pytest.raises(ArtieApiError) as error:
        api.list_pipelines()
    assert str(error.value) == (
        "Could not reach Artie's API at http://127.0.0.1:9 (ConnectError). Check artie.api_url "
        "and that the service (or `artie-sandbox up`) is running."
    )
