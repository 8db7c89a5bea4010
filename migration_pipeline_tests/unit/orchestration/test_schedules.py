"""The validation schedule as Dagster sees it: its name, cron, time zone, status and job, and each
tick's answer (a run tagged with the phase, or the exact reason an operator reads for a skip)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.orchestration.facts import Snapshot
from migration_pipeline.orchestration.schedules import (
    build_schedule,
    build_validation_job,
    skip_reason,
    tick,
)
from migration_pipeline.phases import Assessment, MigrationFacts, ModuleFacts
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline_tests.support.orchestration import shop_spec


def spec_with(schedule: dict, tmp_path) -> MigrationSpec:
    return shop_spec(tmp_path, validation={"schedule": schedule})


def snapshot(
    phase: str, tables: tuple[str, ...] = ("streaming",), pending: str | None = None
) -> Snapshot:
    status = PipelineDetail(
        "p2",
        "v2",
        "r",
        "c",
        "running",
        tables=tuple(TableStatus(f"t{i}", "public", s) for i, s in enumerate(tables)),
    )
    facts = MigrationFacts(
        ModuleFacts(True, (), True, True, pending), "r", "o", "n", status, now=datetime.now(UTC)
    )
    return Snapshot(facts, TerraformState(), Assessment(phase, None, "the gate's reason"))


@pytest.mark.parametrize(
    ("phase", "tables", "pending", "reason"),
    [
        (
            "planned",
            ("streaming",),
            None,
            "planned: the new pipeline does not exist yet, nothing to validate (the gate's reason)",
        ),
        (
            "reader_shared",
            ("streaming",),
            None,
            "reader_shared: the new pipeline does not exist yet, nothing to validate "
            "(the gate's reason)",
        ),
        (
            "backfilling",
            ("streaming", "backfilling"),
            None,
            "backfilling: the new pipeline does not stream every table yet (the gate's reason)",
        ),
        (
            "caught_up",
            (),
            None,
            "caught_up: the new pipeline does not stream every table yet (the gate's reason)",
        ),
        ("caught_up", ("streaming", "streaming"), None, None),
        ("backfilling", ("streaming",), None, None),
        ("approved", ("streaming",), None, None),
        ("approved", ("streaming",), "create", None),
        (
            "approved",
            ("streaming",),
            "cutover",
            "approved: the cutover is under way or done, nothing left to validate",
        ),
        (
            "cut_over",
            ("streaming",),
            None,
            "cut_over: the cutover is under way or done, nothing left to validate",
        ),
        (
            "complete",
            ("streaming",),
            None,
            "complete: the cutover is under way or done, nothing left to validate",
        ),
        ("aborted", ("streaming",), None, "aborted: the gate's reason"),
    ],
)
def test_each_phase_is_validated_or_skipped_with_the_reason_shown(phase, tables, pending, reason):
    assert skip_reason(snapshot(phase, tables, pending)) == reason


# A crashed run of any of the migration's jobs is retried by Dagster, never one that failed in an op.
RETRY_TAGS = {
    "dagster/max_retries": "3",
    "dagster/retry_strategy": "ALL_STEPS",
    "dagster/retry_on_asset_or_op_failure": "false",
}


def test_a_due_tick_requests_a_run_tagged_with_the_migration_and_its_phase(tmp_path):
    spec = spec_with({}, tmp_path)
    request = tick(spec, snapshot("approved"))
    assert isinstance(request, dg.RunRequest)
    assert request.tags == {"migration": "shop_move", **RETRY_TAGS, "migration/phase": "approved"}


def test_a_tick_outside_the_window_skips_saying_why(tmp_path):
    skipped = tick(spec_with({}, tmp_path), snapshot("complete"))
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message == (
        "complete: the cutover is under way or done, nothing left to validate"
    )


def test_the_validation_job_materializes_both_validation_assets_of_its_migration(tmp_path):
    job = build_validation_job(spec_with({}, tmp_path))
    assert job.name == "shop_move_validation_job"
    assert job.tags == {"migration": "shop_move", **RETRY_TAGS}
    assert (
        job.description == "Validate shop_move now: compare the new destination with the old one."
    )
    names = ("validation_report", "validation_mismatches", "approval")
    graph = [dg.AssetsDefinition(specs=[dg.AssetSpec(["shop_move", n])]) for n in names]
    assert job.selection.resolve(graph) == {
        dg.AssetKey(["shop_move", "validation_report"]),
        dg.AssetKey(["shop_move", "validation_mismatches"]),
    }


@pytest.mark.parametrize(
    ("settings", "cron", "zone", "status"),
    [
        ({}, "*/15 * * * *", "UTC", dg.DefaultScheduleStatus.RUNNING),
        (
            {"cron": "0 * * * *", "timezone": "Europe/Berlin", "enabled": False},
            "0 * * * *",
            "Europe/Berlin",
            dg.DefaultScheduleStatus.STOPPED,
        ),
    ],
)
def test_the_schedule_runs_the_job_on_the_specs_cron_zone_and_status(
    tmp_path, settings, cron, zone, status
):
    spec = spec_with(settings, tmp_path)
    job = build_validation_job(spec)
    schedule = build_schedule(spec, job)
    assert (schedule.name, schedule.job_name) == (
        "shop_move_validation_schedule",
        "shop_move_validation_job",
    )
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.default_status) == (
        cron,
        zone,
        status,
    )
    assert schedule.description == (
        f"Validates shop_move on a schedule ({cron}, {zone}) while the new pipeline streams and "
        "the cutover has not happened, so the evidence stays fresh while the migration waits for "
        "approval. Skips, saying why, before the new pipeline streams, after the cutover and once "
        "aborted."
    )
