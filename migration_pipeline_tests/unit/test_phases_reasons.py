"""Every branch of the assessment says why in the words the operator reads (status, the sensor's
skip reason, the job's stop reason), and the freshness gate is right without a clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.errors import SpecError
from migration_pipeline.phases import (
    Approval,
    Gate,
    GateSettings,
    MigrationFacts,
    ModuleFacts,
    ValidationRecord,
    assess,
    catch_up_gate,
    freshness_gate,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
READER, OLD, NEW = "artie_source_reader.shop", "artie_pipeline.v1", "artie_pipeline.v2"
ALL = {READER: "r-1", OLD: "p-1", NEW: "p-2"}
STREAMING = PipelineDetail(
    "p-2", "v2", "r-1", "c-2", "running", tables=(TableStatus("orders", "", "streaming"),)
)
CLEAN = (
    ValidationRecord("v2", "clean", NOW - timedelta(minutes=1)),
    ValidationRecord("v1", "clean", NOW - timedelta(minutes=2)),
)
APPROVED = Approval("ana", "approve", "v2")


def module(shared=True, old=True, new=True, pending=None, uuids=ALL) -> ModuleFacts:
    return ModuleFacts(
        reader_shared=shared,
        reader_tables=(),
        old_pipeline_declared=old,
        new_pipeline_declared=new,
        pending_step=pending,
        uuids=dict(uuids),
    )


def facts(mod: ModuleFacts, **changes) -> MigrationFacts:
    base = {
        "module": mod,
        "reader": READER,
        "old_pipeline": OLD,
        "new_pipeline": NEW,
        "new_status": STREAMING,
        "validations": CLEAN,
        "approval": APPROVED,
        "now": NOW,
    }
    return MigrationFacts(**{**base, **changes})


WITHOUT_OLD = {READER: "r-1", NEW: "p-2"}
CASES = [
    (
        facts(module(shared=False, old=False, uuids=WITHOUT_OLD)),
        GateSettings(),
        ("complete", None, "The old pipeline is deleted and the reader is dedicated again."),
    ),
    (
        facts(module(old=False, uuids=WITHOUT_OLD)),
        GateSettings(unshare=False),
        ("complete", None, "The old pipeline is deleted."),
    ),
    (
        facts(module(old=False, uuids=WITHOUT_OLD)),
        GateSettings(),
        (
            "cut_over",
            "unshare",
            "The old pipeline is deleted; the reader is still shared and the "
            "spec asks to unshare it.",
        ),
    ),
    (
        facts(module(pending="cutover")),
        GateSettings(),
        (
            "approved",
            "cutover",
            "Approved, and the latest validation is fresh and clean; a cutover step is "
            "running or stopped before it finished: if none runs, running it again converges it.",
        ),
    ),
    (
        facts(module(pending="abort_reader"), approval=None),
        GateSettings(),
        (
            "aborted",
            None,
            "An abort step (abort_reader) is running or stopped before it finished: if none runs, "
            "run `migration-pipeline abort` again (or launch the abort job) to finish the "
            "rollback.",
        ),
    ),
    (
        facts(module(pending="promote")),
        GateSettings(),
        (
            "planned",
            "promote",
            "A promote step is running or stopped before it finished; if none runs, running it "
            "again converges it.",
        ),
    ),
    (
        facts(module(shared=False, new=False, uuids={READER: "r-1", OLD: "p-1"})),
        GateSettings(),
        ("planned", "promote", "The reader is not shared yet."),
    ),
    (
        facts(module(new=False, uuids={READER: "r-1", OLD: "p-1"})),
        GateSettings(),
        ("reader_shared", "create", "The new pipeline does not exist yet."),
    ),
    (
        facts(module()),
        GateSettings(),
        (
            "approved",
            "cutover",
            "Approved, and the latest validation is fresh and clean: the old "
            "pipeline can be deleted.",
        ),
    ),
]


@pytest.mark.parametrize("situation, settings, expected", CASES)
def test_every_branch_gives_its_phase_step_and_reason(situation, settings, expected):
    result = assess(situation, settings)
    assert (result.phase, result.next_step, result.reason) == expected


def test_an_old_pipeline_in_neither_module_nor_state_names_the_field():
    with pytest.raises(SpecError) as raised:
        assess(facts(module(old=False, uuids={READER: "r-1"})))
    assert str(raised.value) == (
        "old_pipeline: artie_pipeline.v1 is neither in the module nor in the Terraform state; "
        "check the address (`<type>.<name>`)."
    )


def test_the_freshness_gate_without_validations_or_a_clock():
    settings = GateSettings()
    assert freshness_gate(facts(module(), validations=()), settings) == Gate(
        "fresh_validation", False, "No validation has run yet."
    )
    bad = ValidationRecord("v3", "mismatch", NOW, 1, "1 mismatched key confirmed")
    assert freshness_gate(facts(module(), validations=(bad, *CLEAN)), settings) == Gate(
        "fresh_validation",
        False,
        "The latest validation was mismatch: 1 mismatched key confirmed.",
    )
    old = (ValidationRecord("v1", "clean", NOW - timedelta(days=3)),)
    assert freshness_gate(facts(module(), validations=old, now=None), settings) == Gate(
        "fresh_validation", True, "The latest validation passed 0 s ago."
    )


def test_a_backfill_without_a_clock_in_the_facts_is_measured_against_now():
    started = datetime.now(UTC) - timedelta(seconds=100)
    status = PipelineDetail(
        "p-2",
        "v2",
        "r-1",
        "c-2",
        "running",
        tables=(
            TableStatus(
                "orders",
                "",
                "backfilling",
                rows_backfilled=100,
                rows_estimated=400,
                backfill_started_at=started,
            ),
        ),
        has_backfilling_tables=True,
    )
    gate = catch_up_gate(facts(module(), new_status=status, now=None), GateSettings())
    assert gate.reason.startswith(
        "artie_pipeline.v2 is still backfilling: orders 25% (100 of 400 rows, ETA "
    )
