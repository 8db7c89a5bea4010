"""The Artie API client reads pipelines and readers into typed values and never leaks its key."""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from migration_pipeline.artie.client import ArtieClient, RetryPolicy
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
    "p-old": {
        "uuid": "p-old",
        "name": "orders",
        "sourceReaderUUID": READER,
        "destinationUUID": "d-1",
        "status": "running",
        "tables": [
            {
                "name": "orders",
                "schema": "shop",
                "status": "streaming",
                "backfillStage": "done",
                "enableHistoryMode": False,
            }
        ],
    },
    "p-other": {
        "uuid": "p-other",
        "name": "elsewhere",
        "sourceReaderUUID": "r-2",
        "status": "paused",
        "tables": [],
    },
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
            return httpx.Response(
                200,
                json={
                    "items": [
                        {k: v for k, v in p.items() if k != "tables"} for p in PIPELINES.values()
                    ]
                },
            )
        if path.startswith("/pipelines/") and path[11:] in PIPELINES:
            return httpx.Response(200, json=PIPELINES[path[11:]])
        if path == f"/source-readers/{READER}":
            return httpx.Response(
                200,
                json={
                    "uuid": READER,
                    "name": "prod",
                    "connectorUUID": "c-1",
                    "isShared": True,
                    "status": "running",
                    "tablesConfig": {"shop.orders": {"name": "orders", "schema": "shop"}},
                },
            )
        return httpx.Response(404, json={"error": "not found"})


def client(fake: FakeArtie, key: str = KEY) -> ArtieClient:
    return ArtieClient("https://api.artie.test/", key, transport=httpx.MockTransport(fake))


def test_pipelines_on_a_reader_come_with_their_tables():
    fake = FakeArtie()
    (pipeline,) = client(fake).pipelines_on_reader(READER)
    assert pipeline == PipelineDetail(
        uuid="p-old",
        name="orders",
        source_reader_uuid=READER,
        destination_uuid="d-1",
        status="running",
        tables=(TableStatus("orders", "shop", "streaming", "done", False),),
    )
    assert [r.url.path for r in fake.requests] == ["/pipelines", "/pipelines/p-old"]


def test_list_and_reader_detail():
    api = client(FakeArtie())
    assert api.list_pipelines()[1] == PipelineSummary("p-other", "elsewhere", "r-2", None, "paused")
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


def test_a_server_error_after_the_last_try_names_the_call_and_what_to_do():
    waits: list[float] = []
    fake = FakeArtie(status=500)
    api = ArtieClient(
        "https://api.artie.test/", KEY, transport=httpx.MockTransport(fake), sleep=waits.append
    )
    with pytest.raises(ArtieApiError) as error:
        api.get_pipeline("p-old")
    assert str(error.value) == (
        "GET /pipelines/p-old failed with 500: boom (5 tries in 0 s). Artie's API is down or "
        "rate-limiting: check Artie's status page, then launch again (the migration resumes "
        "where it stopped)."
    )
    assert error.value.status_code == 500
    assert len(fake.requests) == 5
    assert waits == [0.5, 1.0, 2.0, 4.0]


def test_an_unreachable_api_names_the_url():
    def unreachable(request):
        raise httpx.ConnectError("connection refused", request=request)

    api = ArtieClient(
        "http://127.0.0.1:9",
        KEY,
        transport=httpx.MockTransport(unreachable),
        retry=RetryPolicy(attempts=2),
        sleep=lambda _: None,
    )
    with pytest.raises(ArtieApiError) as error:
        api.list_pipelines()
    assert str(error.value) == (
        "Could not reach Artie's API at http://127.0.0.1:9 (ConnectError) after 2 tries in 0 s. "
        "Check artie.api_url and that the service (or `artie-sandbox up`) is running."
    )


class Flaky(FakeArtie):
    """Answers the first `failures` calls with `status` (and its Retry-After), then as Artie."""

    def __init__(self, failures: int, status: int, retry_after: str | None = None):
        super().__init__()
        self.failures, self.fail_status, self.retry_after = failures, status, retry_after

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.failures:
            self.failures -= 1
            self.requests.append(request)
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(self.fail_status, json={"error": "slow down"}, headers=headers)
        return super().__call__(request)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_a_passing_fault_is_retried_with_backoff(status, caplog):
    waits: list[float] = []
    fake = Flaky(failures=3, status=status)
    api = ArtieClient(
        "https://api.artie.test/", KEY, transport=httpx.MockTransport(fake), sleep=waits.append
    )
    assert api.get_source_reader(READER).is_shared is True
    assert waits == [0.5, 1.0, 2.0]
    assert f"answered {status}: slow down; try 2 of 5 in 0.5 s" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("120", 30.0), ("soon", 0.5)])
def test_retry_after_is_honoured_up_to_the_longest_wait(header, expected):
    waits: list[float] = []
    api = ArtieClient(
        "https://api.artie.test/",
        KEY,
        sleep=waits.append,
        transport=httpx.MockTransport(Flaky(1, 429, retry_after=header)),
    )
    api.list_pipelines()
    assert waits == [expected]


def test_retry_after_as_an_http_date():
    waits: list[float] = []
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    api = ArtieClient(
        "https://api.artie.test/",
        KEY,
        sleep=waits.append,
        transport=httpx.MockTransport(Flaky(1, 429, retry_after=when)),
    )
    api.list_pipelines()
    assert 8 <= waits[0] <= 10


def test_a_client_error_is_not_retried():
    fake = FakeArtie()
    waits: list[float] = []
    api = ArtieClient(
        "https://api.artie.test/", KEY, transport=httpx.MockTransport(fake), sleep=waits.append
    )
    with pytest.raises(ArtieApiError, match="failed with 404: not found"):
        api.get_pipeline("missing")
    assert (len(fake.requests), waits) == (1, [])


def test_every_request_has_a_timeout():
    seen = []

    def record(request):
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"items": []})

    api = ArtieClient(
        "https://api.artie.test/",
        KEY,
        transport=httpx.MockTransport(record),
        retry=RetryPolicy(timeout=12, connect_timeout=3),
    )
    api.list_pipelines()
    assert seen == [{"connect": 3, "read": 12, "write": 12, "pool": 12}]
