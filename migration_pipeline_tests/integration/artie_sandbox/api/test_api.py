"""The sandbox API over real HTTP must behave like Artie's for every call its Terraform provider
makes, each exchange as Artie's published OpenAPI spec describes it."""

import json
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from artie_sandbox.api import spec as sandbox_spec
from artie_sandbox.api.server import running_in_thread
from artie_sandbox.store import Store
from migration_pipeline_tests.support.openapi import (
    check_exchange,
    load_openapi,
    load_spec,
    require_spec,
)
from migration_pipeline_tests.support.races import wait_until_blocked

API_KEY = "arsk_sandbox_test_key"


@pytest.fixture
def state_dir(tmp_path):
    (tmp_path / "api-key").write_text(API_KEY + "\n")
    return tmp_path


@pytest.fixture
def base_url(state_dir):
    with running_in_thread(state_dir) as url:
        yield url


# Marks a request that breaks Artie's spec on purpose (the spec-checked runs skip checking it).
OFF_SPEC = {"off_spec": True}


def send(http: httpx.Client, method: str, path: str, body=None, **kwargs) -> httpx.Response:
    """Sends `body` the way Artie's Go client does: JSON without a Content-Type header."""
    content = None if body is None else json.dumps(body)
    return http.request(method, path, content=content, **kwargs)


@pytest.fixture(scope="module")
def spec() -> dict:
    return load_spec()


@pytest.fixture(scope="module")
def openapi(spec):
    return load_openapi(spec)


# Every test runs twice: as is, and with each exchange checked against Artie's published OpenAPI
# spec as it happens (or the sandbox drifts from Artie). Without the spec the checked runs skip,
# or fail in CI (`require_spec`).
@pytest.fixture(params=["as-is", pytest.param("spec-checked", marks=require_spec())])
def make_client(request):
    """Opens API clients; in the spec-checked runs every exchange is checked against the spec."""
    opened = []
    hooks = {}
    if request.param == "spec-checked":
        spec, openapi = request.getfixturevalue("spec"), request.getfixturevalue("openapi")

        def check(response: httpx.Response) -> None:
            response.read()
            check_exchange(openapi, spec, response)

        hooks = {"response": [check]}

    def make(base_url: str, api_key: str | None = API_KEY) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        opened.append(
            httpx.Client(base_url=base_url, headers=headers, timeout=10, event_hooks=hooks)
        )
        return opened[-1]

    yield make
    for http in opened:
        http.close()


@pytest.fixture
def client(make_client, base_url):
    return make_client(base_url)


def ok(response: httpx.Response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    return body["error"]


def reader_payload(connector_uuid: str, tables: dict | None = None, **extra) -> dict:
    """A full PayloadsSourceReader, as the provider's generated client sends on update/validate."""
    return {
        "uuid": "00000000-0000-4000-8000-000000000000",
        "name": "prod",
        "companyUUID": "00000000-0000-4000-8000-000000000000",
        "environmentUUID": "00000000-0000-4000-8000-000000000000",
        "dataPlaneName": "",
        "connectorUUID": connector_uuid,
        "status": "running",
        "isValid": True,
        "database": "shop",
        "containerName": "",
        "settings": {},
        "isShared": tables is not None,
        "tablesConfig": tables,
        **extra,
    }


def reader_tables(*names: str) -> dict:
    return {
        f"public.{n}": {"name": n, "schema": "public", "excludeColumns": [], "includeColumns": []}
        for n in names
    }


def pipeline_payload(
    name: str, reader_uuid: str, destination_uuid: str, tables=("orders", "customers")
) -> dict:
    return {
        "name": name,
        "dataPlaneName": "",
        "sourceReaderUUID": reader_uuid,
        "destinationUUID": destination_uuid,
        "specificDestCfg": {"database": name, "schema": "main"},
        "tables": [
            {
                "name": t,
                "schema": "public",
                "enableHistoryMode": False,
                "disableReplication": False,
                "advancedSettings": {"alias": "", "excludeColumns": [], "skipDelete": False},
            }
            for t in tables
        ],
        "advancedSettings": {
            "enableSoftDelete": True,
            "includeArtieUpdatedAtColumn": True,
            "includeDatabaseUpdatedAtColumn": None,
        },
    }


def create_pipeline(client, payload: dict) -> dict:
    """Create as the provider does: validate source, validate destination, create, start."""
    source_check = {
        "sourceReaderUUID": payload["sourceReaderUUID"],
        "validateTables": True,
        "tables": payload["tables"],
        "dataPlaneName": "",
    }
    ok(send(client, "POST", "/pipelines/validate-unsaved-source", source_check), 204)
    destination_check = {
        "destinationUUID": payload["destinationUUID"],
        "sourceReaderUUID": payload["sourceReaderUUID"],
        "specificCfg": payload["specificDestCfg"],
        "tables": payload["tables"],
        "advancedSettings": payload["advancedSettings"],
    }
    ok(send(client, "POST", "/pipelines/validate-unsaved-destination", destination_check), 204)
    created = ok(send(client, "POST", "/pipelines", {"pipeline": payload, "deployPipeline": True}))
    ok(send(client, "POST", f"/pipelines/{created['uuid']}/start"), 204)
    return created


def connectors_and_reader(client) -> dict:
    """A source and a destination connector and a dedicated (non-shared) reader "prod"."""
    source = ok(
        send(
            client,
            "POST",
            "/connectors",
            {
                "type": "sqlite",
                "label": "mysql-prod",
                "dataPlaneName": "",
                "sshTunnelUUID": None,
                "sharedConfig": {"path": "/data/source.db"},
            },
        )
    )
    dest = ok(
        send(
            client,
            "POST",
            "/connectors",
            {"type": "duckdb", "label": "warehouse", "sharedConfig": {"directory": "/data/dw"}},
        )
    )
    draft = reader_payload(source["uuid"])
    ok(send(client, "POST", "/source-readers/validate-unsaved", {"sourceReader": draft}), 204)
    reader = ok(
        send(
            client,
            "POST",
            "/source-readers",
            {
                "name": "prod",
                "dataPlaneName": "",
                "connectorUUID": source["uuid"],
                "isShared": False,
                "database": "shop",
                "containerName": "",
                "settings": {},
                "tablesConfig": None,
            },
        )
    )
    return {"source": source, "dest": dest, "reader": reader}


def make_world(client) -> dict:
    """`connectors_and_reader` plus pipeline analytics_v1 on the reader."""
    objects = connectors_and_reader(client)
    payload = pipeline_payload("analytics_v1", objects["reader"]["uuid"], objects["dest"]["uuid"])
    return {**objects, "v1": create_pipeline(client, payload)}


@pytest.fixture
def world(client):
    return make_world(client)


def share(client, world, *tables: str) -> dict:
    reader = world["reader"]
    body = reader_payload(world["source"]["uuid"], reader_tables(*tables), uuid=reader["uuid"])
    updated = ok(send(client, "POST", f"/source-readers/{reader['uuid']}", body))
    ok(send(client, "POST", f"/source-readers/{reader['uuid']}/deploy"), 204)
    return updated


def test_missing_or_wrong_key_is_refused_with_how_to_fix(make_client, base_url, state_dir):
    hint = (
        f"use the API key that `artie-sandbox init` printed (stored in {state_dir}/api-key): "
        "set it as the provider's api_key or in ARTIE_API_KEY"
    )
    assert refused(make_client(base_url, None).get("/pipelines"), 401) == (
        f'missing API key: send "Authorization: Bearer <key>"; {hint}'
    )
    wrong = make_client(base_url, "arsk_wrong").get("/connectors")
    assert refused(wrong, 401) == f"invalid API key; {hint}"
    assert API_KEY not in wrong.text


def test_resources_created_as_the_provider_does(client, world):
    v1 = ok(client.get(f"/pipelines/{world['v1']['uuid']}"))
    assert v1["status"] == "running"
    assert v1["specificDestCfg"] == {"database": "analytics_v1", "schema": "main"}
    assert v1["advancedSettings"]["enableSoftDelete"] is True
    assert [(t["name"], t["status"], t["backfillStage"]) for t in v1["tables"]] == [
        ("orders", "queued", "not_started"),
        ("customers", "queued", "not_started"),
    ]
    assert v1["hasBackfillingTables"] is True
    detail = ok(client.get(f"/pipelines/{v1['uuid']}", params={"includeRelatedObjects": "true"}))
    assert detail["sourceReader"]["uuid"] == world["reader"]["uuid"]
    assert detail["sourceConnector"]["type"] == "sqlite"
    assert detail["destinationConnector"]["uuid"] == world["dest"]["uuid"]
    assert [p["uuid"] for p in ok(client.get("/pipelines"))["items"]] == [v1["uuid"]]
    assert [c["label"] for c in ok(client.get("/connectors"))["items"]] == ["warehouse"]
    listed = ok(client.get("/connectors", params={"includeSourceConnectors": "true"}))["items"]
    assert [c["label"] for c in listed] == ["mysql-prod", "warehouse"]
    assert ok(client.get("/source-readers"))[0]["tablesConfig"] is None


def test_second_pipeline_refused_until_the_reader_is_shared(client, world):
    reader, v1 = world["reader"], world["v1"]
    payload = pipeline_payload("analytics_v2", reader["uuid"], world["dest"]["uuid"])
    assert refused(send(client, "POST", "/pipelines", {"pipeline": payload})) == (
        f'pipeline "analytics_v2": source reader "prod" ({reader["uuid"]}) is not shared and '
        f'already feeds pipeline "analytics_v1" ({v1["uuid"]}); set is_shared = true on the '
        "source reader and list every table in tables, then apply this pipeline again"
    )
    shared = share(client, world, "orders", "customers")
    assert shared["isShared"] is True and shared["isValid"] is True
    v2 = create_pipeline(client, payload)
    assert ok(client.get(f"/pipelines/{v2['uuid']}"))["sourceReaderUUID"] == reader["uuid"]


def test_pipeline_tables_must_be_captured_by_a_shared_reader(client, world):
    reader = world["reader"]
    share(client, world, "orders", "customers")
    payload = pipeline_payload(
        "analytics_v2", reader["uuid"], world["dest"]["uuid"], tables=("orders", "refunds")
    )
    message = (
        f'pipeline "analytics_v2": shared source reader "prod" ({reader["uuid"]}) does '
        'not capture "public.refunds"; add it to the source reader\'s tables first'
    )
    check = {
        "sourceReaderUUID": reader["uuid"],
        "validateTables": True,
        "tables": payload["tables"],
    }
    assert ok(send(client, "POST", "/pipelines/validate-unsaved-source", check)) == {
        "error": message.replace('pipeline "analytics_v2"', "this pipeline")
    }
    assert refused(send(client, "POST", "/pipelines", {"pipeline": payload})) == message


def test_unshare_refused_with_two_pipelines_then_allowed(client, world):
    reader, v1 = world["reader"], world["v1"]
    share(client, world, "orders", "customers")
    v2 = create_pipeline(
        client, pipeline_payload("analytics_v2", reader["uuid"], world["dest"]["uuid"])
    )
    unshared = reader_payload(world["source"]["uuid"], uuid=reader["uuid"])
    message = (
        f'source reader "prod" ({reader["uuid"]}) feeds 2 pipelines (pipeline '
        f'"analytics_v1" ({v1["uuid"]}), pipeline "analytics_v2" ({v2["uuid"]})); it can only be unshared '
        "(is_shared = false) with at most one pipeline attached: delete the other pipelines first"
    )
    check = send(client, "POST", "/source-readers/validate-unsaved", {"sourceReader": unshared})
    assert ok(check) == {"error": message}
    assert refused(send(client, "POST", f"/source-readers/{reader['uuid']}", unshared)) == message
    ok(client.delete(f"/pipelines/{v1['uuid']}"), 204)
    assert (
        ok(send(client, "POST", f"/source-readers/{reader['uuid']}", unshared))["isShared"] is False
    )


def test_reader_with_pipelines_cannot_be_deleted(client, world):
    reader, v1 = world["reader"], world["v1"]
    assert refused(client.delete(f"/source-readers/{reader['uuid']}")) == (
        f'source reader "prod" ({reader["uuid"]}) cannot be deleted while pipelines use it: '
        f'pipeline "analytics_v1" ({v1["uuid"]}); delete those pipelines first'
    )


def test_dropping_a_used_table_is_accepted_and_visible(client, world):
    reader, v1 = world["reader"], world["v1"]
    updated = share(client, world, "orders")
    assert updated["isValid"] is False
    assert updated["uncapturedTables"] == [
        {"table": "public.customers", "pipelineUUID": v1["uuid"], "pipelineName": "analytics_v1"}
    ]
    assert (
        ok(client.get(f"/source-readers/{reader['uuid']}"))["uncapturedTables"]
        == (updated["uncapturedTables"])
    )
    tables = ok(client.get(f"/pipelines/{v1['uuid']}"))["tables"]
    assert {t["name"]: t["status"] for t in tables} == {
        "orders": "queued",
        "customers": "not_captured",
    }


def test_shared_reader_rules_are_enforced(client, world):
    reader, source = world["reader"], world["source"]
    no_tables = reader_payload(source["uuid"], {}, uuid=reader["uuid"], isShared=True)
    assert refused(send(client, "POST", f"/source-readers/{reader['uuid']}", no_tables)) == (
        f'source reader "prod" ({reader["uuid"]}): is_shared = true needs tables listing every '
        'table its pipelines replicate (keys "schema.name", or "name" without a schema); add '
        "tables or set is_shared = false"
    )
    bad_key = reader_payload(source["uuid"], {"orders": {"name": "orders", "schema": "public"}})
    check = send(client, "POST", "/source-readers/validate-unsaved", {"sourceReader": bad_key})
    assert ok(check) == {
        "error": (
            f'source reader "prod" ({bad_key["uuid"]}): tables key "orders" does not match its table '
            '(schema "public", name "orders"); use the key "public.orders"'
        )
    }
    tables_unshared = reader_payload(source["uuid"], reader_tables("orders"), isShared=False)
    assert refused(send(client, "POST", "/source-readers", tables_unshared)) == (
        'source reader "prod": tables is only allowed when is_shared = true; set is_shared = true '
        "and list every table in tables, or remove tables"
    )
    assert refused(client.post(f"/source-readers/{reader['uuid']}/deploy")) == (
        f'source reader "prod" ({reader["uuid"]}) is not shared; only shared source readers are '
        "deployed on their own (a non-shared reader follows its pipeline)"
    )


def test_unknown_uuids_are_not_found(client):
    for kind, path in (
        ("connector", "connectors"),
        ("source reader", "source-readers"),
        ("pipeline", "pipelines"),
    ):
        assert refused(client.get(f"/{path}/4b1f0b0e-0000-4000-8000-000000000000"), 404) == (
            f'{kind} "4b1f0b0e-0000-4000-8000-000000000000" does not exist (deleted outside '
            "Terraform, or a different sandbox state directory); remove it from the Terraform "
            "state or re-create it"
        )


def test_status_endpoints(client, world):
    v1 = world["v1"]
    paused = ok(send(client, "POST", f"/pipelines/{v1['uuid']}/status", {"status": "paused"}))
    assert paused["pipeline"]["status"] == "paused"
    share(client, world, "orders", "customers")
    reader = ok(
        send(
            client,
            "POST",
            f"/source-readers/{world['reader']['uuid']}/status",
            {"status": "paused"},
        )
    )
    assert reader["status"] == "paused"
    gone = send(
        client, "POST", f"/pipelines/{v1['uuid']}/status", {"status": "gone"}, extensions=OFF_SPEC
    )
    assert refused(gone) == (
        "the request body: field \"status\" must be one of 'draft', 'paused', "
        "'transfer paused', 'running', not 'gone'"
    )


@contextmanager
def store_write_locked(state_dir):
    """Holds the control-plane write lock (as the engine does for a moment) so that requests
    pile up behind it and are released together: the widest race window there can be."""
    blocker = sqlite3.connect(state_dir / "control-plane.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("COMMIT")
        blocker.close()


def race(make_client, base_url, state_dir, requests: list[tuple[str, str, dict]]):
    """Sends all `requests`, waits until every one is queued on the write lock, releases them
    together; returns their responses in order."""
    clients = [make_client(base_url) for _ in requests]
    with ThreadPoolExecutor(len(requests)) as pool:
        with store_write_locked(state_dir):
            futures = [
                pool.submit(send, http, *request)
                for http, request in zip(clients, requests, strict=True)
            ]
            wait_until_blocked(len(requests), Store.transaction, 'conn.execute("BEGIN IMMEDIATE")')
        return [f.result() for f in futures]


def test_parallel_pipelines_on_a_dedicated_reader_admit_exactly_one(
    make_client, base_url, state_dir, client
):
    objects = connectors_and_reader(client)
    reader = objects["reader"]
    requests = [
        (
            "POST",
            "/pipelines",
            {"pipeline": pipeline_payload(f"racer_{i}", reader["uuid"], objects["dest"]["uuid"])},
        )
        for i in range(8)
    ]
    responses = race(make_client, base_url, state_dir, requests)
    winners = [r.json() for r in responses if r.status_code == 200]
    assert len(winners) == 1, [r.text for r in responses]
    winner = winners[0]
    for loser in (r for r in responses if r.status_code != 200):
        message = refused(loser)
        assert message.endswith(
            f'source reader "prod" ({reader["uuid"]}) is not shared and already feeds pipeline '
            f'"{winner["name"]}" ({winner["uuid"]}); set is_shared = true on the source reader '
            "and list every table in tables, then apply this pipeline again"
        )
    assert [p["uuid"] for p in ok(client.get("/pipelines"))["items"]] == [winner["uuid"]]


def test_bodies_that_are_not_json_objects_are_refused(client):
    not_json = client.post("/connectors", content=b"{not json", extensions=OFF_SPEC)
    assert refused(not_json).startswith("the request body is not valid JSON: ")
    not_object = client.post("/connectors", content=b"[1, 2]", extensions=OFF_SPEC)
    assert refused(not_object) == "the request body must be a JSON object"
    assert refused(client.get("/deployments", extensions=OFF_SPEC), 404) == (
        "GET /deployments is not an operation of Artie's API (the sandbox serves the connectors, "
        "source-readers and pipelines operations the Terraform provider uses)"
    )


UNKNOWN = "4b1f0b0e-0000-4000-8000-000000000000"
NOT_JSON = b"{not json"


def bad_requests(world) -> list[tuple[str, str, object, int, str]]:
    """(method, path, body, status, message start) for every served operation: a malformed
    body, a missing field, a wrong type or format, an unknown uuid. Each status is one the spec
    lists for the operation (400 where it lists one; else 500, or 200 for a validate call)."""
    reader = reader_payload(world["source"]["uuid"])
    pipeline = pipeline_payload("p", world["reader"]["uuid"], world["dest"]["uuid"])
    connector = {"type": "sqlite", "label": "x", "sharedConfig": {"path": "/x.db"}}
    body = "the request body"
    return [
        (
            "GET",
            "/connectors?includeSourceConnectors=maybe",
            None,
            500,
            "invalid request: query.includeSourceConnectors",
        ),
        ("POST", "/connectors", NOT_JSON, 400, f"{body} is not valid JSON"),
        (
            "POST",
            "/connectors",
            {**connector, "dataPlaneName": 12345},
            400,
            f'{body}: field "dataPlaneName" must be a string, not 12345',
        ),
        (
            "POST",
            "/connectors",
            {**connector, "sshTunnelUUID": "not-a-uuid"},
            400,
            f'{body}: field "sshTunnelUUID" must be a UUID string',
        ),
        ("POST", "/connectors", {"label": "no type"}, 400, "connector"),
        ("GET", f"/connectors/{UNKNOWN}", None, 404, f'connector "{UNKNOWN}" does not exist'),
        ("POST", f"/connectors/{UNKNOWN}", connector, 400, f'connector "{UNKNOWN}" does not exist'),
        (
            "POST",
            f"/connectors/{world['source']['uuid']}",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            f"/connectors/{world['source']['uuid']}",
            {**connector, "label": ["x"]},
            400,
            f'{body}: field "label" must be a string',
        ),
        ("DELETE", f"/connectors/{UNKNOWN}", None, 400, f'connector "{UNKNOWN}" does not exist'),
        ("POST", "/source-readers", NOT_JSON, 400, f"{body} is not valid JSON"),
        ("POST", "/source-readers", {"name": "r"}, 400, f'{body} needs the field "connectorUUID"'),
        (
            "POST",
            "/source-readers",
            {"connectorUUID": world["source"]["uuid"], "isShared": "yes"},
            400,
            f'{body}: field "isShared" must be true or false',
        ),
        ("POST", "/source-readers/validate-unsaved", NOT_JSON, 200, f"{body} is not valid JSON"),
        (
            "POST",
            "/source-readers/validate-unsaved",
            {"reader": reader},
            200,
            f'{body} needs the field "sourceReader"',
        ),
        (
            "POST",
            "/source-readers/validate-unsaved",
            {"sourceReader": {**reader, "isValid": "true"}},
            200,
            f'{body}: field "sourceReader".isValid must be true or false',
        ),
        (
            "GET",
            f"/source-readers/{UNKNOWN}",
            None,
            404,
            f'source reader "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/source-readers/{UNKNOWN}",
            reader,
            400,
            f'source reader "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/source-readers/{world['reader']['uuid']}",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            f"/source-readers/{world['reader']['uuid']}",
            {**reader, "settings": {"backfillBatchSize": "5000"}},
            400,
            f'{body}: field "settings".backfillBatchSize must be an integer',
        ),
        (
            "DELETE",
            f"/source-readers/{UNKNOWN}",
            None,
            400,
            f'source reader "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/source-readers/{UNKNOWN}/deploy",
            None,
            400,
            f'source reader "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/source-readers/{UNKNOWN}/status",
            {"status": "paused"},
            400,
            f'source reader "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/source-readers/{world['reader']['uuid']}/status",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            f"/source-readers/{world['reader']['uuid']}/status",
            {"state": "paused"},
            400,
            f'{body} needs the field "status"',
        ),
        ("POST", "/pipelines", NOT_JSON, 400, f"{body} is not valid JSON"),
        ("POST", "/pipelines", {"deployPipeline": True}, 400, f'{body} needs the field "pipeline"'),
        (
            "POST",
            "/pipelines",
            {"pipeline": {**pipeline, "tables": "orders"}},
            400,
            f'{body}: field "pipeline".tables must be a JSON array',
        ),
        ("POST", "/pipelines/validate-unsaved-source", NOT_JSON, 400, f"{body} is not valid JSON"),
        (
            "POST",
            "/pipelines/validate-unsaved-source",
            {"validateTables": True},
            400,
            f'{body} needs the field "tables"',
        ),
        (
            "POST",
            "/pipelines/validate-unsaved-source",
            {"validateTables": "true", "tables": []},
            400,
            f'{body}: field "validateTables" must be true or false',
        ),
        (
            "POST",
            "/pipelines/validate-unsaved-destination",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            "/pipelines/validate-unsaved-destination",
            {"tables": []},
            400,
            f'{body} needs the field "specificCfg"',
        ),
        (
            "POST",
            "/pipelines/validate-unsaved-destination",
            {"specificCfg": {}, "destinationUUID": "dw"},
            400,
            f'{body}: field "destinationUUID" must be a UUID string',
        ),
        ("GET", f"/pipelines/{UNKNOWN}", None, 404, f'pipeline "{UNKNOWN}" does not exist'),
        (
            "GET",
            f"/pipelines/{UNKNOWN}?includeRelatedObjects=maybe",
            None,
            500,
            "invalid request: query.includeRelatedObjects",
        ),
        (
            "POST",
            f"/pipelines/{UNKNOWN}",
            {"pipeline": pipeline},
            400,
            f'pipeline "{UNKNOWN}" does not exist',
        ),
        ("POST", f"/pipelines/{world['v1']['uuid']}", NOT_JSON, 400, f"{body} is not valid JSON"),
        (
            "POST",
            f"/pipelines/{world['v1']['uuid']}",
            {"pipeline": {**pipeline, "sourceReaderUUID": 7}},
            400,
            f'{body}: field "pipeline".sourceReaderUUID must be a UUID string',
        ),
        ("DELETE", f"/pipelines/{UNKNOWN}", None, 500, f'pipeline "{UNKNOWN}" does not exist'),
        ("POST", f"/pipelines/{UNKNOWN}/start", None, 400, f'pipeline "{UNKNOWN}" does not exist'),
        (
            "POST",
            f"/pipelines/{world['v1']['uuid']}/start",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            f"/pipelines/{world['v1']['uuid']}/start",
            {"keepPaused": "yes"},
            400,
            f'{body}: field "keepPaused" must be true or false',
        ),
        (
            "POST",
            f"/pipelines/{UNKNOWN}/status",
            {"status": "paused"},
            400,
            f'pipeline "{UNKNOWN}" does not exist',
        ),
        (
            "POST",
            f"/pipelines/{world['v1']['uuid']}/status",
            NOT_JSON,
            400,
            f"{body} is not valid JSON",
        ),
        (
            "POST",
            f"/pipelines/{world['v1']['uuid']}/status",
            {"state": "paused"},
            400,
            f'{body} needs the field "status"',
        ),
    ]


def test_bad_requests_get_a_status_the_spec_lists_with_what_was_wrong(client, world):
    for method, path, body, status, message in bad_requests(world):
        content = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
        response = client.request(method, path, content=content, extensions=OFF_SPEC)
        assert response.status_code == status, (method, path, response.text)
        assert list(response.json()) == ["error"], (method, path, response.text)
        assert response.json()["error"].startswith(message), (method, path, response.text)


def test_operations_the_sandbox_does_not_serve_say_so(client):
    ping = client.post(
        "/connectors/ping", content=json.dumps({"type": "mysql"}), extensions=OFF_SPEC
    )
    assert refused(ping, 501) == (
        "POST /connectors/ping is part of Artie's API but not of the sandbox, which implements "
        "only the connectors, source-readers and pipelines operations the Terraform provider "
        "uses; rehearse this call against Artie itself"
    )
    backfill = client.post(f"/pipelines/{UNKNOWN}/backfill", extensions=OFF_SPEC)
    assert refused(backfill, 501).startswith(
        "POST /pipelines/{uuid}/backfill is part of Artie's API"
    )
    assert refused(client.put("/connectors", extensions=OFF_SPEC), 405).startswith(
        "PUT /connectors is not an operation of Artie's API"
    )


def test_connector_lifecycle(client, world):
    dest = world["dest"]
    got = ok(client.get(f"/connectors/{dest['uuid']}"))
    assert (got["type"], got["sharedConfig"]) == ("duckdb", {"directory": "/data/dw"})
    body = {
        "uuid": dest["uuid"],
        "type": "duckdb",
        "label": "warehouse-2",
        "dataPlaneName": "",
        "sshTunnelUUID": None,
        "sharedConfig": {"directory": "/data/dw2"},
    }
    assert ok(send(client, "POST", f"/connectors/{dest['uuid']}", body))["label"] == "warehouse-2"
    retyped = send(client, "POST", f"/connectors/{dest['uuid']}", {**body, "type": "sqlite"})
    assert refused(retyped) == (
        f'connector "warehouse-2" ({dest["uuid"]}): type cannot change from "duckdb" to "sqlite"; '
        "create a new connector instead"
    )
    assert refused(client.delete(f"/connectors/{dest['uuid']}")) == (
        f'connector "warehouse-2" ({dest["uuid"]}) cannot be deleted while pipeline '
        f'"analytics_v1" ({world["v1"]["uuid"]}) use it; delete those first'
    )
    ok(client.delete(f"/pipelines/{world['v1']['uuid']}"), 204)
    ok(client.delete(f"/connectors/{dest['uuid']}"), 204)
    assert client.get(f"/connectors/{dest['uuid']}").status_code == 404


def test_pipeline_update_is_checked_against_a_shared_reader(client, world):
    reader, v1 = world["reader"], world["v1"]
    payload = pipeline_payload(
        "analytics_v1", reader["uuid"], world["dest"]["uuid"], tables=("orders",)
    )
    updated = ok(
        send(
            client,
            "POST",
            f"/pipelines/{v1['uuid']}",
            {"pipeline": {**payload, "uuid": v1["uuid"]}, "deployPipeline": True},
        )
    )
    assert ([t["name"] for t in updated["tables"]], updated["status"]) == (["orders"], "running")
    share(client, world, "orders")
    wider = pipeline_payload("analytics_v1", reader["uuid"], world["dest"]["uuid"])
    assert refused(send(client, "POST", f"/pipelines/{v1['uuid']}", {"pipeline": wider})) == (
        f'pipeline "analytics_v1": shared source reader "prod" ({reader["uuid"]}) does not '
        'capture "public.customers"; add it to the source reader\'s tables first'
    )


def test_unshare_racing_a_second_pipeline_never_leaves_two_on_a_dedicated_reader(
    make_client, base_url, state_dir, client, world
):
    reader = world["reader"]
    share(client, world, "orders", "customers")
    unshared = reader_payload(world["source"]["uuid"], uuid=reader["uuid"])
    second = pipeline_payload("analytics_v2", reader["uuid"], world["dest"]["uuid"])
    requests = [
        ("POST", f"/source-readers/{reader['uuid']}", unshared),
        ("POST", "/pipelines", {"pipeline": second}),
    ]
    responses = race(make_client, base_url, state_dir, requests)
    assert sorted(r.status_code for r in responses) == [200, 400]
    shared = ok(client.get(f"/source-readers/{reader['uuid']}"))["isShared"]
    attached = [
        p for p in ok(client.get("/pipelines"))["items"] if p["sourceReaderUUID"] == reader["uuid"]
    ]
    assert (shared, len(attached)) in ((False, 1), (True, 2))


@contextmanager
def api_process(state_dir):
    command = [
        sys.executable,
        "-m",
        "artie_sandbox.api",
        "--state-dir",
        str(state_dir),
        "--port",
        "0",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(
        command, cwd=state_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    port_file = state_dir / "api.port"
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not start: {proc.communicate()[1]}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().strip()}"
    finally:
        proc.terminate()
        proc.communicate(timeout=15)
    assert not port_file.exists()


def test_state_survives_a_restart(make_client, state_dir):
    with api_process(state_dir) as url:
        objects = make_world(make_client(url))
    with api_process(state_dir) as url:
        http = make_client(url)
        v1 = ok(http.get(f"/pipelines/{objects['v1']['uuid']}"))
        assert (v1["name"], v1["status"]) == ("analytics_v1", "running")
        reader = objects["reader"]
        payload = pipeline_payload("analytics_v2", reader["uuid"], objects["dest"]["uuid"])
        assert "is not shared and already feeds pipeline" in refused(
            send(http, "POST", "/pipelines", {"pipeline": payload})
        )


def test_a_missing_api_key_file_stops_the_server_with_what_to_run(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "artie_sandbox.api", "--state-dir", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"artie-sandbox api: no API key in {tmp_path}/api-key; run `artie-sandbox init` for this "
        "state directory first (it writes the key and prints it once)"
    )


@require_spec()
@pytest.mark.parametrize("make_client", ["spec-checked"], indirect=True)
def test_the_checker_rejects_a_response_artie_would_not_send(client, openapi, spec):
    response = client.get("/connectors")
    broken = httpx.Response(200, json={"items": [{"label": "x"}]}, request=response.request)
    with pytest.raises(Exception, match="uuid|required"):
        check_exchange(openapi, spec, broken)


@require_spec()
@pytest.mark.parametrize("make_client", ["spec-checked"], indirect=True)
def test_legacy_validate_paths_follow_the_current_schemas(client, world):
    body = {"sourceReaderUUID": world["reader"]["uuid"], "validateTables": True, "tables": []}
    assert client.post("/pipelines/validate-source", content=json.dumps(body)).status_code == 204
    destination = {
        "destinationUUID": world["dest"]["uuid"],
        "specificCfg": {"database": "analytics_v1"},
    }
    response = client.post("/pipelines/validate-destination", content=json.dumps(destination))
    assert response.status_code == 204


@require_spec()
def test_the_sandbox_knows_every_operation_of_the_spec(spec):
    """`artie_sandbox.api.spec` is written from the spec: the same codes, no operation forgotten."""
    listed = {
        (m.upper(), p): frozenset(int(c) for c in op["responses"])
        for p, ops in spec["paths"].items()
        for m, op in ops.items()
    }
    served = {op: codes for op, codes in listed.items() if op in sandbox_spec.SERVED}
    assert served == sandbox_spec.SERVED
    assert {f"{m} {p}" for m, p in listed if (m, p) not in served} == set(sandbox_spec.NOT_SERVED)
