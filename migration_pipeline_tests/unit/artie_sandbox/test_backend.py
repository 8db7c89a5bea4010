"""The sandbox must refuse exactly what Artie refuses, with messages a Terraform user can act on."""

from dataclasses import replace
from datetime import datetime

import pytest

from artie_sandbox.backend import NOT_CAPTURED, Backend, BadRequest, Lag, NotFound
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


def test_a_connectors_type_cannot_change_and_an_update_is_checked_like_a_create(backend, world):
    source, dest, _, _ = world
    as_source = Connector("", "sqlite", "warehouse", {"path": "/x.db"})
    assert _refusal(backend.update_connector, dest.uuid, as_source) == (
        f'connector "warehouse" ({dest.uuid}): type cannot change from "duckdb" to "sqlite"; '
        "create a new connector instead"
    )
    assert _refusal(backend.update_connector, source.uuid, replace(source, shared_config={})) == (
        'connector "mysql-prod": type "sqlite" needs sharedConfig.path (the SQLite source file)'
    )
    renamed = backend.update_connector(dest.uuid, replace(dest, uuid="", label="dw2"))
    assert (renamed.uuid, renamed.label, renamed.created_at) == (dest.uuid, "dw2", dest.created_at)
    assert backend.get_connector(dest.uuid) == renamed
    assert [c.uuid for c in backend.list_connectors(include_sources=False)] == [dest.uuid]
    assert {c.uuid for c in backend.list_connectors(include_sources=True)} == {
        source.uuid,
        dest.uuid,
    }


def test_a_connector_in_use_names_its_users_and_an_unused_one_is_deleted(backend, world):
    source, dest, reader, v1 = world
    assert _refusal(backend.delete_connector, source.uuid) == (
        f'connector "mysql-prod" ({source.uuid}) cannot be deleted while source reader "prod" '
        f"({reader.uuid}) use it; delete those first"
    )
    assert _refusal(backend.delete_connector, dest.uuid) == (
        f'connector "warehouse" ({dest.uuid}) cannot be deleted while pipeline "analytics_v1" '
        f"({v1.uuid}) use it; delete those first"
    )
    spare = backend.create_connector(Connector("", "duckdb", "spare", {"directory": "/s"}))
    backend.delete_connector(spare.uuid)
    with pytest.raises(NotFound) as info:
        backend.get_connector(spare.uuid)
    assert info.value.message == (
        f'connector "{spare.uuid}" does not exist (deleted outside Terraform, or a different '
        "sandbox state directory); remove it from the Terraform state or re-create it"
    )


def test_a_reader_needs_an_existing_source_connector_a_database_and_named_tables(backend, world):
    source, _, reader, _ = world
    draft = SourceReader("", "r2", "nope", "shop")
    assert _refusal(backend.create_reader, draft) == (
        'source reader "r2": connector_uuid "nope" does not exist; create the artie_connector '
        "first or fix connector_uuid"
    )
    assert backend.validate_reader(draft) == _refusal(backend.create_reader, draft)
    assert _refusal(
        backend.create_reader, replace(draft, connector_uuid=source.uuid, database="")
    ) == ('source reader "r2": database_name is required')
    unnamed = _shared(reader, {"x": ReaderTable("")})
    assert _refusal(backend.update_reader, reader.uuid, unnamed) == (
        f'source reader "prod" ({reader.uuid}): tables["x"] needs a name'
    )
    assert backend.validate_reader(replace(draft, connector_uuid=source.uuid)) is None
    created = backend.create_reader(replace(draft, connector_uuid=source.uuid, status="draft"))
    assert created.reader.status == "running"
    assert created.reader.uuid not in ("", reader.uuid)
    assert created.reader.created_at == created.reader.updated_at != ""


def test_a_readers_connector_cannot_change_under_its_pipelines(backend, world):
    source, _, reader, v1 = world
    other = backend.create_connector(Connector("", "sqlite", "other", {"path": "/o.db"}))
    moved = replace(reader, connector_uuid=other.uuid)
    assert _refusal(backend.update_reader, reader.uuid, moved) == (
        f'source reader "prod" ({reader.uuid}): connector_uuid cannot change while pipelines use '
        f'it (pipeline "analytics_v1" ({v1.uuid})); create a new source reader instead'
    )
    backend.delete_pipeline(v1.uuid)
    updated = backend.update_reader(reader.uuid, replace(moved, status="draft")).reader
    assert (updated.connector_uuid, updated.status, updated.created_at) == (
        other.uuid,
        "running",
        reader.created_at,
    )
    assert source.uuid != other.uuid


def test_only_a_shared_reader_is_deployed_paused_or_resumed_on_its_own(backend, world):
    _, _, reader, _ = world
    for call, what in (
        (lambda: backend.deploy_reader(reader.uuid), "deployed on their own"),
        (
            lambda: backend.set_reader_status(reader.uuid, "paused"),
            "paused or resumed on their own",
        ),
    ):
        with pytest.raises(BadRequest) as info:
            call()
        assert info.value.message == (
            f'source reader "prod" ({reader.uuid}) is not shared; only shared source readers are '
            f"{what} (a non-shared reader follows its pipeline)"
        )
    assert _refusal(backend.set_reader_status, reader.uuid, "stopped") == (
        'source reader status "stopped" is not one of "draft", "paused", "running"'
    )
    backend.update_reader(reader.uuid, _shared(reader))
    assert backend.set_reader_status(reader.uuid, "paused").reader.status == "paused"
    assert backend.get_reader(reader.uuid).reader.status == "paused"
    backend.deploy_reader(reader.uuid)
    assert backend.get_reader(reader.uuid).reader.status == "running"


def test_validate_unsaved_source_and_destination_say_what_a_create_would_refuse(backend, world):
    source, dest, reader, _ = world
    assert backend.validate_source("nope", TABLES) == (
        'this pipeline: source_reader_uuid "nope" does not exist; create the artie_source_reader '
        "first or fix source_reader_uuid"
    )
    assert backend.validate_source(reader.uuid, TABLES) is None
    backend.update_reader(reader.uuid, _shared(reader, {"x.y": ReaderTable("y", "x")}))
    assert backend.validate_source(reader.uuid, TABLES) == (
        f'this pipeline: shared source reader "prod" ({reader.uuid}) does not capture '
        '"public.orders", "public.customers"; add them to the source reader\'s tables first'
    )
    assert backend.validate_destination("nope", "db") == (
        'this pipeline: destination_connector_uuid "nope" does not exist; create the '
        "artie_connector first or fix destination_connector_uuid"
    )
    assert backend.validate_destination(dest.uuid, "") == (
        "this pipeline: destination_config.database is required"
    )
    assert backend.validate_destination(dest.uuid, "db") is None
    assert source.uuid != dest.uuid


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "pipeline: name is required"),
        ({"tables": ()}, 'pipeline "analytics_v2": tables is empty; list at least one table'),
        (
            {"tables": (PipelineTable(""),)},
            'pipeline "analytics_v2": every table needs a name',
        ),
        (
            {"tables": (TABLES[0], TABLES[1], TABLES[0])},
            'pipeline "analytics_v2": table "public.orders" is listed twice',
        ),
    ],
)
def test_a_pipeline_needs_a_name_and_distinct_named_tables(backend, world, change, message):
    _, _, reader, _ = world
    backend.update_reader(reader.uuid, _shared(reader))
    assert _refusal(backend.create_pipeline, replace(_v2(world), **change)) == message


def test_a_pipeline_is_created_as_a_draft_and_an_update_keeps_its_status(backend, world):
    _, _, reader, v1 = world
    assert v1.status == "draft" and v1.uuid and v1.created_at == v1.updated_at
    backend.start_pipeline(v1.uuid, keep_paused=True)
    assert backend.get_pipeline(v1.uuid).pipeline.status == "paused"
    updated = backend.update_pipeline(v1.uuid, replace(v1, uuid="", name="renamed", status="x"))
    assert (updated.pipeline.uuid, updated.pipeline.name, updated.pipeline.status) == (
        v1.uuid,
        "renamed",
        "paused",
    )
    assert updated.pipeline.created_at == v1.created_at
    backend.start_pipeline(v1.uuid)
    assert backend.get_pipeline(v1.uuid).pipeline.status == "running"
    assert _refusal(backend.set_pipeline_status, v1.uuid, "stopped") == (
        'pipeline status "stopped" is not one of "draft", "paused", "transfer paused", "running"'
    )
    assert backend.set_pipeline_status(v1.uuid, "transfer paused").pipeline.status == (
        "transfer paused"
    )
    assert reader.uuid == updated.pipeline.source_reader_uuid


def test_a_pipelines_view_reports_its_source_type_lag_and_captured_tables(backend, world):
    _, _, reader, v1 = world
    view = backend.get_pipeline(v1.uuid)
    assert (view.source_type, view.lag) == ("sqlite", Lag())
    assert [(t.status, t.backfill_stage) for t in view.tables] == [("queued", "not_started")] * 2
    with backend.store.transaction() as tx:
        tx.put(
            PipelineProgress(
                v1.uuid,
                tables=(TableProgress("public.orders", "streaming", "complete"),),
                offset=5,
                log_end=12,
                seconds_behind=3.5,
            )
        )
    assert backend.get_pipeline(v1.uuid).lag == Lag(7, 3.5)
    only_orders = {"public.orders": ReaderTable("orders", "public")}
    view = backend.update_reader(reader.uuid, _shared(reader, only_orders))
    assert [(u.table_key, u.pipeline_uuid, u.pipeline_name) for u in view.uncaptured] == [
        ("public.customers", v1.uuid, "analytics_v1")
    ]
    assert backend.get_pipeline(v1.uuid).has_backfilling_tables is False  # not captured: ignored
    with backend.store.transaction() as tx:
        tx.put(PipelineProgress(v1.uuid, offset=20, log_end=12))
    assert backend.get_pipeline(v1.uuid).lag == Lag(0, 0.0)
    backend.delete_pipeline(v1.uuid)
    with backend.store.transaction() as tx:
        assert tx.get(PipelineProgress, v1.uuid) is None


def test_an_unknown_reader_or_connector_is_not_found_by_its_kind(backend):
    for call, kind in ((backend.get_reader, "source reader"), (backend.get_connector, "connector")):
        with pytest.raises(NotFound) as info:
            call("nope")
        assert info.value.message.startswith(f'{kind} "nope" does not exist (')


def test_every_change_stamps_updated_at_and_keeps_created_at(backend, world):
    _, dest, reader, v1 = world
    fresh = Connector("", "duckdb", "dw2", {"directory": "/dw"})
    connector = backend.update_connector(dest.uuid, fresh)
    assert connector.created_at == dest.created_at
    assert connector.updated_at > dest.updated_at
    draft = replace(v1, uuid="", created_at="", updated_at="", name="renamed")
    pipeline = backend.update_pipeline(v1.uuid, draft).pipeline
    assert pipeline.created_at == v1.created_at
    assert pipeline.updated_at > v1.updated_at
    paused = backend.set_pipeline_status(v1.uuid, "paused").pipeline
    assert paused.updated_at > pipeline.updated_at
    shared = backend.update_reader(reader.uuid, _shared(reader)).reader
    backend.deploy_reader(reader.uuid)
    assert backend.get_reader(reader.uuid).reader.updated_at > shared.updated_at


def test_a_connector_used_twice_names_every_user(backend, world):
    source, _, reader, _ = world
    second = backend.create_reader(SourceReader("", "r2", source.uuid, "shop")).reader
    assert _refusal(backend.delete_connector, source.uuid) == (
        f'connector "mysql-prod" ({source.uuid}) cannot be deleted while source reader "prod" '
        f'({reader.uuid}), source reader "r2" ({second.uuid}) use it; delete those first'
    )


def test_the_reader_list_shows_each_reader_with_its_uncaptured_tables(backend, world):
    source, _, reader, v1 = world
    only_orders = {"public.orders": ReaderTable("orders", "public")}
    backend.update_reader(reader.uuid, _shared(reader, only_orders))
    second = backend.create_reader(SourceReader("", "r2", source.uuid, "shop")).reader
    listed = [(v.reader.uuid, [u.table_key for u in v.uncaptured]) for v in backend.list_readers()]
    assert listed == [(reader.uuid, ["public.customers"]), (second.uuid, [])]
    assert v1.source_reader_uuid == reader.uuid


def stamped(value: str) -> bool:
    """An RFC 3339 UTC time, as Artie's API returns it."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ") is not None


def test_creates_stamp_both_times_and_reader_changes_stamp_updated_at(backend, world):
    source, dest, reader, v1 = world
    for created in (source, dest, reader, v1):
        assert stamped(created.created_at) and created.created_at == created.updated_at
    draft = replace(_shared(reader), uuid="", created_at="", updated_at="")
    shared = backend.update_reader(reader.uuid, draft).reader
    assert (shared.uuid, shared.created_at) == (reader.uuid, reader.created_at)
    assert shared.updated_at > reader.updated_at
    paused = backend.set_reader_status(reader.uuid, "paused").reader
    assert paused.updated_at > shared.updated_at


def test_a_refused_create_names_the_reader_without_a_uuid_it_does_not_have_yet(backend):
    stale = SourceReader("stale-uuid", "r2", "nope", "shop")
    assert _refusal(backend.create_reader, stale).startswith('source reader "r2": connector_uuid')


def test_a_table_the_engine_has_not_reported_shows_as_queued_with_its_own_key(backend, world):
    _, _, _, v1 = world
    orders = backend.get_pipeline(v1.uuid).tables[0]
    assert orders.progress == TableProgress("public.orders")


def test_a_pipeline_whose_reader_is_gone_still_shows_without_a_source_type(backend, world):
    _, dest, _, _ = world
    orphan = Pipeline("p-orphan", "orphan", "gone", dest.uuid, "db", tables=TABLES)
    with backend.store.transaction() as tx:
        tx.put(orphan)
    view = backend.get_pipeline("p-orphan")
    assert (view.source_type, [t.status for t in view.tables]) == ("", ["queued", "queued"])
