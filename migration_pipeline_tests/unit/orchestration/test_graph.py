"""The asset graph, the validation schedule, the checks, the Launchpad and the progress a waiting
migration reports, as a Dagster user meets them (the graph read from the Definitions)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.cli.status import render, status_json
from migration_pipeline.errors import SpecError
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.assets import ApprovalConfig, ValidationConfig
from migration_pipeline.orchestration.checks import CHECKS
from migration_pipeline.orchestration.evidence import record_evidence
from migration_pipeline.orchestration.facts import Snapshot
from migration_pipeline.orchestration.runs import Automation
from migration_pipeline.phases import Assessment, MigrationFacts, ModuleFacts, ValidationRecord
from migration_pipeline.spec import load_specs
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import TableReport, ValidationReport
from migration_pipeline.validation.report import KeyList
from migration_pipeline_tests.support import orchestration as support

SPEC_YAML = (
    support.SPEC_YAML
    + """    owners: [team:data, ana@example.com]
    validation:
      schedule: {cron: "*/5 * * * *", timezone: Europe/Berlin}
"""
)


def _specs(tmp_path, text: str = SPEC_YAML):
    (tmp_path / "migrations.yaml").write_text(text)
    return load_specs(tmp_path / "migrations.yaml")


@pytest.fixture
def defs(tmp_path) -> dg.Definitions:
    return build_definitions(_specs(tmp_path))


def key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["shop_move", name])


def test_the_graph_runs_from_the_reader_to_the_approval_with_kinds_and_owners(defs):
    graph = defs.resolve_asset_graph()
    edges = {
        (p.path[-1], k.path[-1])
        for k in graph.get_all_asset_keys()
        for p in graph.get(k).parent_keys
    }
    assert edges == {
        ("source_reader", "old_pipeline"),
        ("source_reader", "new_pipeline"),
        ("old_pipeline", "old_destination"),
        ("new_pipeline", "new_destination"),
        ("old_destination", "validation_report"),
        ("new_destination", "validation_report"),
        ("validation_report", "validation_mismatches"),
        ("validation_report", "approval"),
    }
    kinds = {k.path[-1]: graph.get(k).kinds for k in graph.get_all_asset_keys()}
    assert kinds["source_reader"] == kinds["new_pipeline"] == {"artie", "terraform"}
    assert kinds["old_destination"] == kinds["validation_report"] == {"duckdb"}
    assert kinds["validation_mismatches"] == {"duckdb", "pandas"}
    assert all(
        graph.get(k).owners == ["team:data", "ana@example.com"] for k in graph.get_all_asset_keys()
    )
    assert all(
        "dagster/code_references" in graph.get(k).metadata for k in graph.get_all_asset_keys()
    )
    assert not graph.get(key("new_pipeline")).is_materializable  # Terraform changes it


def test_checks_say_what_they_assert_and_how_severe_a_failure_is(defs):
    checks = {c.name: c for c in defs.resolve_assets_def(key("validation_report")).check_specs}
    assert {n: c.description for n, c in checks.items()} == CHECKS
    assert not any(c.blocking for c in checks.values())  # a mismatch is recorded, not a failure


def test_a_mismatch_is_recorded_with_each_checks_severity_and_its_keys(defs, tmp_path):
    spec = load_specs(tmp_path / "migrations.yaml")["shop_move"]
    now = datetime.now(UTC)
    table = TableReport(
        "orders", "orders", ("id",), old_rows=3, new_rows=2, missing_in_new=KeyList(((7,),), 1)
    )
    evidence = record_evidence(
        DuckDBResource(database=str(tmp_path / "history.duckdb")),
        ValidationReport("old", "new", now, now, (table,)),
    )
    events = evidence.events(spec)
    checks = {
        e.check_name: (e.passed, e.severity)
        for e in events
        if isinstance(e, dg.AssetCheckEvaluation)
    }
    assert checks == {
        "row_counts_match": (False, dg.AssetCheckSeverity.WARN),
        "content_matches": (False, dg.AssetCheckSeverity.ERROR),
        "schemas_match": (True, dg.AssetCheckSeverity.ERROR),
    }
    materialized = [e.asset_key for e in events if isinstance(e, dg.AssetMaterialization)]
    assert materialized == [key("validation_report"), key("validation_mismatches")]
    observed = {
        e.asset_key.path[-1]: e.metadata for e in events if isinstance(e, dg.AssetObservation)
    }
    assert set(observed) == {"old_destination", "new_destination"}  # no Artie status given
    assert (
        observed["old_destination"]["dagster/row_count"].value,
        observed["new_destination"]["rows/orders"].value,
    ) == (3, 2)
    assert evidence.mismatches[["table_name", "kind", "key"]].values.tolist() == [
        ["orders", "missing_in_new", "7"]
    ]


def test_the_validation_schedule_materializes_both_validation_assets(defs):
    schedule = defs.resolve_schedule_def("shop_move_validation_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("*/5 * * * *", "Europe/Berlin")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(schedule.job_name)
    assert job.tags["migration"] == "shop_move"
    assert set(job.asset_layer.selected_asset_keys) == {
        key("validation_report"),
        key("validation_mismatches"),
    }


def test_the_schedule_defaults_to_every_15_minutes_in_utc_and_can_start_stopped(tmp_path):
    text = SPEC_YAML.replace(
        'schedule: {cron: "*/5 * * * *", timezone: Europe/Berlin}', "schedule: {enabled: false}"
    )
    schedule = build_definitions(_specs(tmp_path, text)).resolve_schedule_def(
        "shop_move_validation_schedule"
    )
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("*/15 * * * *", "UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cron", "every 5 minutes", "is not a cron expression of five fields"),
        ("timezone", "Mars/Olympus", "'Mars/Olympus' is not an IANA time zone name"),
    ],
)
def test_a_bad_schedule_says_what_to_write(tmp_path, field, value, message):
    text = SPEC_YAML.replace(
        'schedule: {cron: "*/5 * * * *", timezone: Europe/Berlin}',
        f'schedule: {{{field}: "{value}"}}',
    )
    with pytest.raises(SpecError, match=message) as e:
        _specs(tmp_path, text)
    assert f"migrations.shop_move.validation.schedule.{field}" in str(e.value)


def test_an_owner_must_be_an_email_or_a_team(tmp_path):
    with pytest.raises(SpecError, match="owner 'data' must be an email address or team:NAME"):
        _specs(tmp_path, SPEC_YAML.replace("team:data", "data"))


def test_the_launchpad_explains_every_approval_field():
    fields = ApprovalConfig.model_json_schema()["properties"]
    assert all(f.get("description") for f in fields.values())
    assert fields["decision"]["default"] == "approve"


def test_the_launchpad_explains_the_full_validation_field_and_defaults_to_incremental():
    fields = ValidationConfig.model_json_schema()["properties"]
    assert fields["full"]["default"] is False
    assert "every row" in fields["full"]["description"]


def test_status_shows_the_latest_validations_mode_and_coverage(tmp_path):
    spec = _specs(tmp_path)["shop_move"]
    coverage = (
        "orders: incremental since 2026-03-01 12:03:04.118: 10,412 changed keys checked, "
        "counts equal"
    )
    latest = ValidationRecord("v-2", "clean", datetime.now(UTC), 0, "", "incremental", coverage)
    facts = MigrationFacts(
        ModuleFacts(True, (), True, True, None),
        "r",
        "o",
        "n",
        validations=(latest,),
        now=datetime.now(UTC),
    )
    shown = status_json(
        spec, Snapshot(facts, TerraformState(), Assessment("caught_up", None, "why"))
    )
    lines = render(shown).splitlines()
    assert "  latest validation: v-2 clean (incremental)" in lines
    assert f"  coverage: {coverage}" in lines
    assert (shown["latest_validation"]["mode"], shown["latest_validation"]["coverage"]) == (
        "incremental",
        coverage,
    )


def test_status_says_when_the_sensor_launches_a_retry_dagster_missed(tmp_path):
    """Between the grace's end and the sensor's next tick, status names the missed retry."""
    spec = _specs(tmp_path)["shop_move"]
    facts = MigrationFacts(ModuleFacts(True, (), True, True, None), "r", "o", "n")
    snapshot = Snapshot(facts, TerraformState(), Assessment("cutting_over", "cutover", "why"))
    missed = Automation("migrate_shop_move", "person-run", None, missed_retry="crashed-run")
    shown = status_json(spec, snapshot, runs=missed)
    assert shown["sensor"] == {
        "may_launch": True,
        "reason": "Dagster has not retried crashed run crashed-run within 60 s "
        "(gates.retry_grace_seconds): the sensor launches the job in its place at its next tick",
    }


def test_status_shows_each_tables_progress_while_the_new_pipeline_backfills(tmp_path):
    spec = _specs(tmp_path)["shop_move"]
    status = PipelineDetail.from_wire(
        {
            "uuid": "p2",
            "tables": [
                {
                    "name": "orders",
                    "status": "backfilling",
                    "backfillStage": "in_progress",
                    "rowsBackfilled": 500,
                    "rowsEstimated": 2000,
                },
                {
                    "name": "customers",
                    "status": "streaming",
                    "backfillStage": "complete",
                    "changesBehind": 12,
                    "secondsBehind": 2.0,
                },
            ],
        }
    )
    facts = MigrationFacts(
        ModuleFacts(True, (), True, True, None), "r", "o", "n", status, now=datetime.now(UTC)
    )
    shown = status_json(
        spec, Snapshot(facts, TerraformState(), Assessment("backfilling", None, "why"))
    )
    assert (
        "  new pipeline: orders 25% (500 of 2.0k rows); customers streaming, 12 changes / "
        "2 s behind" in render(shown).splitlines()
    )
    assert shown["progress"]["tables"][0]["percent"] == 25.0
