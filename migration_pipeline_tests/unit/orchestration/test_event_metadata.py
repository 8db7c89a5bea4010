"""The metadata codec: what the job writes on a validation or an approval event reads back as the
same record through a real Dagster instance, with one id (the history's) and one mismatch count."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

from migration_pipeline.orchestration.event_metadata import (
    approval_key,
    approval_metadata,
    latest_approval,
    read_validation,
    validation_key,
    validation_metadata,
    validation_record,
    validation_records,
)
from migration_pipeline.phases import Approval
from migration_pipeline.spec import load_specs
from migration_pipeline.validation import TableReport, ValidationReport, record
from migration_pipeline.validation.history import history_path
from migration_pipeline.validation.report import Coverage, KeyList

SPEC_YAML = """
migrations:
  shop_move:
    terraform: {dir: tf}
    reader: artie_source_reader.shop
    old_pipeline: artie_pipeline.v1
    new_pipeline: {address: artie_pipeline.v2, name: v2}
"""
FINISHED = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)
# Every kind of mismatch at once: 2 missing, 1 extra, 3 changed, 4 duplicated keys.
MISMATCHED = TableReport(
    "orders",
    "orders",
    old_rows=10,
    new_rows=9,
    missing_in_new=KeyList(((1,), (2,)), 2),
    extra_in_new=KeyList(((9,),), 1),
    changed_total=3,
    duplicate_total=4,
)

SINCE = datetime(2026, 3, 1, 12, 3, 4, 118000, tzinfo=UTC)
INCREMENTAL = TableReport(
    "orders",
    "orders",
    old_rows=20,
    new_rows=20,
    coverage=Coverage("incremental", column="__artie_updated_at", since=SINCE, changed_keys=10412),
)
FULL = TableReport(
    "customers",
    "customers",
    old_rows=5,
    new_rows=5,
    coverage=Coverage("full", "full validation requested"),
)


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "migrations.yaml").write_text(SPEC_YAML)
    return load_specs(tmp_path / "migrations.yaml")["shop_move"]


@pytest.mark.parametrize("tables", [(), (MISMATCHED,)], ids=["clean", "mismatched"])
def test_a_validation_reads_back_as_the_record_the_gates_were_given(spec, tmp_path, tables):
    report = ValidationReport("old.duckdb", "new.duckdb", FINISHED, FINISHED, tables)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(validation_key(spec), metadata=validation_metadata(report))
        )
        (read,) = validation_records(instance, spec)
        stored = instance.fetch_materializations(validation_key(spec), limit=1).records[0]
    assert read == validation_record(report)
    assert (read.id, read.finished_at) == (report.id, FINISHED)
    assert read.mismatched_rows == (10 if tables else 0)
    assert (read.verdict, read.reason) == (report.verdict, report.judgement.reason)
    metadata = stored.asset_materialization.metadata
    assert isinstance(metadata["finished_at"], dg.TimestampMetadataValue)
    assert metadata["mismatched_rows"].value == read.mismatched_rows


def test_the_history_and_the_event_log_name_a_validation_by_the_same_id(tmp_path):
    recorded = record(
        tmp_path / "state", ValidationReport("o", "n", FINISHED, FINISHED, (MISMATCHED,))
    )
    with duckdb.connect(str(history_path(tmp_path / "state")), read_only=True) as con:
        (run_id,) = con.execute("SELECT run_id FROM validation_runs").fetchone()
    assert validation_metadata(recorded)["validation_id"] == run_id == recorded.id


def test_an_approval_reads_back_with_the_events_time(spec, tmp_path):
    decided = Approval("ana", "approve", "v-7", "counts agree")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                approval_key(spec), metadata=approval_metadata(decided, validation_verdict="clean")
            )
        )
        read = latest_approval(instance, spec)
        stored = instance.fetch_materializations(approval_key(spec), limit=1).records[0]
    assert read == Approval(
        "ana", "approve", "v-7", "counts agree", datetime.fromtimestamp(stored.timestamp, UTC)
    )
    assert stored.asset_materialization.metadata["validation_verdict"].value == "clean"


def test_an_event_without_a_validation_id_is_not_a_validation():
    assert read_validation({"note": dg.MetadataValue.text("materialized by hand")}) is None


@pytest.mark.parametrize(
    ("tables", "mode"),
    [((INCREMENTAL,), "incremental"), ((FULL,), "full"), ((INCREMENTAL, FULL), "mixed")],
)
def test_a_validation_reads_back_with_its_mode_and_what_each_table_covered(
    spec, tmp_path, tables, mode
):
    report = ValidationReport("old.duckdb", "new.duckdb", FINISHED, FINISHED, tables)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(validation_key(spec), metadata=validation_metadata(report))
        )
        (read,) = validation_records(instance, spec)
        stored = instance.fetch_materializations(validation_key(spec), limit=1).records[0]
    assert read == validation_record(report)
    lines = {
        "orders": "orders: incremental since 2026-03-01 12:03:04.118: 10,412 changed keys "
        "checked, counts equal",
        "customers": "customers: full (full validation requested)",
    }
    assert (read.mode, read.coverage) == (mode, "; ".join(lines[t.table] for t in tables))
    metadata = stored.asset_materialization.metadata
    incremental = INCREMENTAL in tables
    assert isinstance(metadata["changed_keys_checked"], dg.IntMetadataValue)
    assert metadata["changed_keys_checked"].value == (10412 if incremental else 0)
    if incremental:
        assert isinstance(metadata["incremental_since"], dg.TimestampMetadataValue)
        assert metadata["incremental_since"].value == SINCE.timestamp()
    else:
        assert "incremental_since" not in metadata
    rows = {r.data["table"]: r.data for r in metadata["tables"].records}
    if incremental:
        assert {k: rows["orders -> orders"][k] for k in ("mode", "since", "changed_keys")} == {
            "mode": "incremental",
            "since": SINCE.isoformat(),
            "changed_keys": 10412,
        }
    if FULL in tables:
        assert {
            k: rows["customers -> customers"][k]
            for k in ("mode", "since", "changed_keys", "coverage")
        } == {
            "mode": "full",
            "since": None,
            "changed_keys": None,
            "coverage": "full (full validation requested)",
        }
