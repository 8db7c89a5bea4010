"""The sandbox must refuse exactly what Artie refuses, with messages a Terraform user can act on."""

from dataclasses import replace

import pytest

from artie_sandbox.backend import NOT_CAPTURED, Backend, BadRequest, NotFound
from artie_sandbox.models import (
    Connector,
    Pipeline,
    PipelineProgress,
    PipelineTable,
    ReaderTable,
    SourceReader,
    TableProgress,
)
from artie_sandbox.store import Store

TABLES = (PipelineTable("orders", "public"), PipelineTable("customers", "public"))
SHARED_TABLES = {
    "public.orders": ReaderTable("orders", "public"),
    "public.customers": ReaderTable("customers", "public"),
}


@pytest.fixture
def backend(tmp_path):
    return Backend(Store(tmp_path / "control-plane.db"))


@pytest.fixture
def world(backend):
    source = backend.create_connector(Connector("", "sqlite", "mysql-prod", {"path": "/src.db"}))
    dest = backend.create_connector(Connector("", "duckdb", "warehouse", {"directory": "/dw"}))
    reader = backend.create_reader(SourceReader("", "prod", source.uuid, "shop")).reader
    v1 = backend.create_pipeline(
        Pipeline("", "analytics_v1", reader.uuid, dest.uuid, "analytics_v1", tables=TABLES)
    ).pipeline
    return source, dest, reader, v1


def _v2(world, tables=TABLES) -> Pipeline:
    _, dest, reader, _ = world
    return Pipeline("", "analytics_v2", reader.uuid, dest.uuid, "analytics_v2", tables=tables)


def _shared(reader: SourceReader, tables=None) -> SourceReader:
    return replace(reader, is_shared=True, tables=SHARED_TABLES if tables is None else tables)


def _refusal(call, *args) -> str:
    with pytest.raises(BadRequest) as info:
        call(*args)
    return info.value.message


def test_second_pipeline_needs_a_shared_reader(backend, world):
    _, _, reader, v1 = world
    assert _refusal(backend.create_pipeline, _v2(world)) == (
        f'pipeline "analytics_v2": source reader "prod" ({reader.uuid}) is not shared and already '
        f'feeds pipeline "analytics_v1" ({v1.uuid}); set is_shared = true on the source reader '
        "and list every table in tables, then apply this pipeline again"
    )
    backend.update_reader(reader.uuid, _shared(reader))
    v2 = backend.create_pipeline(_v2(world)).pipeline
    assert [p.pipeline.uuid for p in backend.list_pipelines()] == [v1.uuid, v2.uuid]


def test_shared_reader_tables_must_cover_a_new_pipeline(backend, world):
    _, _, reader, _ = world
    backend.update_reader(
        reader.uuid, _shared(reader, {"public.orders": ReaderTable("orders", "public")})
    )
    assert _refusal(backend.create_pipeline, _v2(world)) == (
        f'pipeline "analytics_v2": shared source reader "prod" ({reader.uuid}) does not capture '
        '"public.customers"; add it to the source reader\'s tables first'
    )


def test_shared_reader_needs_tables_and_unshared_forbids_them(backend, world):
    _, _, reader, _ = world
    assert _refusal(backend.update_reader, reader.uuid, _shared(reader, {})) == (
        f'source reader "prod" ({reader.uuid}): is_shared = true needs tables listing every table '
        'its pipelines replicate (keys "schema.name", or "name" without a schema); add tables or '
        "set is_shared = false"
    )
    unshared_with_tables = replace(reader, tables=SHARED_TABLES)
    assert _refusal(backend.update_reader, reader.uuid, unshared_with_tables) == (
        f'source reader "prod" ({reader.uuid}): tables is only allowed when is_shared = true; '
        "set is_shared = true and list every table in tables, or remove tables"
    )


def test_table_keys_must_match_schema_and_name(backend, world):
    _, _, reader, _ = world
    wrong = _shared(reader, {"orders": ReaderTable("orders", "public")})
    assert _refusal(backend.update_reader, reader.uuid, wrong) == (
        f'source reader "prod" ({reader.uuid}): tables key "orders" does not match its table '
        '(schema "public", name "orders"); use the key "public.orders"'
    )
    bare = _shared(
        reader,
        {"orders": ReaderTable("orders"), "public.customers": ReaderTable("customers", "public")},
    )
    assert backend.update_reader(reader.uuid, bare).reader.tables["orders"].name == "orders"


def test_reader_with_pipelines_cannot_be_deleted(backend, world):
    _, _, reader, v1 = world
    assert _refusal(backend.delete_reader, reader.uuid) == (
        f'source reader "prod" ({reader.uuid}) cannot be deleted while pipelines use it: '
        f'pipeline "analytics_v1" ({v1.uuid}); delete those pipelines first'
    )
    backend.delete_pipeline(v1.uuid)
    backend.delete_reader(reader.uuid)
    with pytest.raises(NotFound):
        backend.get_reader(reader.uuid)


def test_unsharing_needs_at_most_one_pipeline(backend, world):
    _, _, reader, v1 = world
    backend.update_reader(reader.uuid, _shared(reader))
    v2 = backend.create_pipeline(_v2(world)).pipeline
    refusal = _refusal(backend.update_reader, reader.uuid, reader)
    assert refusal == (
        f'source reader "prod" ({reader.uuid}) feeds 2 pipelines (pipeline "analytics_v1" '
        f'({v1.uuid}), pipeline "analytics_v2" ({v2.uuid})); it can only be unshared (is_shared = false) with at most '
        "one pipeline attached: delete the other pipelines first"
    )
    assert backend.validate_reader(reader) == refusal  # validate-unsaved says the same
    backend.delete_pipeline(v1.uuid)
    assert backend.update_reader(reader.uuid, reader).reader.is_shared is False


def test_dropping_a_used_table_is_accepted_and_visible(backend, world):
    _, _, reader, v1 = world
    only_orders = {"public.orders": ReaderTable("orders", "public")}
    view = backend.update_reader(reader.uuid, _shared(reader, only_orders))
    assert [(u.table_key, u.pipeline_uuid) for u in view.uncaptured] == [
        ("public.customers", v1.uuid)
    ]
    statuses = {t.table.key: t.status for t in backend.get_pipeline(v1.uuid).tables}
    assert statuses == {"public.orders": "queued", "public.customers": NOT_CAPTURED}


def test_pipeline_status_comes_from_engine_progress(backend, world):
    _, _, _, v1 = world
    assert backend.get_pipeline(v1.uuid).has_backfilling_tables is True
    with backend.store.transaction() as tx:
        tx.put(
            PipelineProgress(
                v1.uuid,
                tables=(
                    TableProgress("public.orders", "streaming", "complete"),
                    TableProgress("public.customers", "streaming", "complete"),
                ),
            )
        )
    view = backend.get_pipeline(v1.uuid)
    assert view.has_backfilling_tables is False
    assert {t.status for t in view.tables} == {"streaming"}


def test_connectors_are_checked_for_kind_and_type(backend, world):
    source, dest, reader, _ = world
    assert _refusal(backend.create_connector, Connector("", "mysql", "prod", {})) == (
        'connector "prod": type "mysql" is not available in the sandbox; use "sqlite" for a '
        'source or "duckdb" for a destination'
    )
    assert _refusal(backend.create_connector, Connector("", "duckdb", "dw", {})) == (
        'connector "dw": type "duckdb" needs sharedConfig.directory (the folder that holds '
        "<database>.duckdb)"
    )
    on_destination = SourceReader("", "r2", dest.uuid, "shop")
    assert _refusal(backend.create_reader, on_destination) == (
        f'source reader "r2": connector "warehouse" ({dest.uuid}) is a "duckdb" destination; '
        'connector_uuid must name a source connector (type "sqlite")'
    )
    into_source = replace(_v2(world), destination_uuid=source.uuid)
    assert _refusal(backend.create_pipeline, into_source) == (
        f'pipeline "analytics_v2": connector "mysql-prod" ({source.uuid}) is a "sqlite" source; '
        'destination_connector_uuid must name a destination connector (type "duckdb")'
    )
    assert _refusal(backend.delete_connector, source.uuid).startswith(
        f'connector "mysql-prod" ({source.uuid}) cannot be deleted while source reader "prod"'
    )


def test_unknown_uuid_is_not_found(backend):
    with pytest.raises(NotFound) as info:
        backend.get_pipeline("nope")
    assert info.value.status == 404
    assert info.value.message.startswith('pipeline "nope" does not exist')
