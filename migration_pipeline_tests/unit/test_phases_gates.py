"""Each gate, open or closed, names itself and says why in the words the operator reads (the
sensor, status and the Dagster UI show them), and the approval covers only what came after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.phases import (
    Approval,
    Gate,
    GateSettings,
    MigrationFacts,
    ModuleFacts,
    ReaderGap,
    ValidationRecord,
    approval_gate,
    assess,
    catch_up_gate,
    reader_gaps_reason,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
READER, OLD, NEW = "artie_source_reader.shop", "artie_pipeline.v1", "artie_pipeline.v2"
MODULE = ModuleFacts(
    reader_shared=True,
    reader_tables=(),
    old_pipeline_declared=True,
    new_pipeline_declared=True,
    pending_step=None,
    uuids={READER: "r-1", OLD: "p-1", NEW: "p-2"},
)
STREAMING = PipelineDetail(
    "p-2", "v2", "r-1", "c-2", "running", tables=(TableStatus("orders", "", "streaming"),)
)


def record(
    id_: str, verdict: str = "clean", minutes: int = 1, reason: str = ""
) -> ValidationRecord:
    return ValidationRecord(id_, verdict, NOW - timedelta(minutes=minutes), reason=reason)


def facts(**changes) -> MigrationFacts:
    base = {
        "module": MODULE,
        "reader": READER,
        "old_pipeline": OLD,
        "new_pipeline": NEW,
        "new_status": STREAMING,
        "now": NOW,
    }
    return MigrationFacts(**{**base, **changes})


def test_the_catch_up_gate_in_every_state():
    settings = GateSettings()
    assert catch_up_gate(facts(new_status=None), settings) == Gate(
        "catch_up", False, "Artie reports no status for artie_pipeline.v2 yet."
    )
    backfilling = PipelineDetail(
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
                backfill_started_at=NOW - timedelta(seconds=100),
            ),
        ),
        has_backfilling_tables=True,
    )
    assert catch_up_gate(facts(new_status=backfilling), settings) == Gate(
        "catch_up",
        False,
        "artie_pipeline.v2 is still backfilling: orders 25% (100 of 400 rows, ETA 5 min).",
    )
    assert catch_up_gate(facts(), settings) == Gate(
        "catch_up",
        False,
        "0 of 2 consecutive clean validations so far (no validation has run yet).",
    )
    assert catch_up_gate(facts(validations=(record("v1"),)), settings) == Gate(
        "catch_up",
        False,
        "1 of 2 consecutive clean validations so far (the latest validation was clean).",
    )
    lagging = record("v2", "inconclusive", reason="v2 is 12.0 s behind")
    assert catch_up_gate(facts(validations=(lagging, record("v1"))), settings) == Gate(
        "catch_up",
        False,
        "0 of 2 consecutive clean validations so far (the latest "
        "validation was inconclusive: v2 is 12.0 s behind).",
    )
    assert catch_up_gate(
        facts(validations=(record("v3"), record("v2"), record("v1"))), settings
    ) == Gate(
        "catch_up",
        True,
        "artie_pipeline.v2 streams every table and the last 3 validations were clean.",
    )


def test_the_approval_gate_in_every_state():
    clean = (record("v2"), record("v1", minutes=5))
    assert approval_gate(facts(validations=clean)) == Gate(
        "approval",
        False,
        "Waiting for a person to approve the cutover (materialize the "
        "approval asset, or `migration-pipeline approve`).",
    )
    assert approval_gate(facts(validations=clean, approval=Approval("bo", "reject", "v2"))) == (
        Gate("approval", False, "bo decided 'reject'.")
    )
    assert approval_gate(
        facts(validations=clean, approval=Approval("bo", "reject", "v2", "too early"))
    ) == (Gate("approval", False, "bo decided 'reject': too early."))
    assert approval_gate(facts(validations=clean, approval=Approval("ana", "approve", "v9"))) == (
        Gate(
            "approval",
            False,
            "ana's approval was for validation v9, which is not among the "
            "recorded validations; approve the latest validation again.",
        )
    )
    voided = (record("v3", "mismatch", reason="2 mismatched keys confirmed"), *clean)
    assert approval_gate(facts(validations=voided, approval=Approval("ana", "approve", "v2"))) == (
        Gate(
            "approval",
            False,
            "ana's approval of validation v2 is void: validation v3 "
            "confirmed a mismatch (2 mismatched keys confirmed); approve a later clean "
            "validation.",
        )
    )
    assert approval_gate(facts(validations=clean, approval=Approval("ana", "approve", "v2"))) == (
        Gate("approval", True, "Approved by ana for validation v2.")
    )


def test_a_mismatch_before_the_approved_validation_does_not_void_it():
    history = (
        record("v3"),
        record("v2", minutes=3),
        record("v1", "mismatch", minutes=9, reason="1 mismatched key confirmed"),
    )
    assert approval_gate(facts(validations=history, approval=Approval("ana", "approve", "v2"))).open
    assert approval_gate(facts(validations=history, approval=Approval("ana", "approve", "v3"))).open


def test_an_assessment_finds_its_gates_by_name_and_none_otherwise():
    approval = Approval("ana", "approve", "v2")
    result = assess(facts(validations=(record("v2"), record("v1", minutes=5)), approval=approval))
    assert [g.name for g in result.gates] == ["catch_up", "approval", "fresh_validation"]
    assert result.gate("approval").reason == "Approved by ana for validation v2."
    assert result.gate("unshare") is None
    assert result.closed_gate is None


def test_a_block_removed_by_hand_cuts_over_with_both_gates_named():
    approval = Approval("ana", "approve", "v2")
    removed = ModuleFacts(
        reader_shared=True,
        reader_tables=(),
        old_pipeline_declared=False,
        new_pipeline_declared=True,
        pending_step=None,
        uuids=MODULE.uuids,
    )
    result = assess(
        facts(module=removed, validations=(record("v2"), record("v1")), approval=approval)
    )
    assert (result.phase, result.next_step) == ("approved", "cutover")
    assert result.reason == (
        "The old pipeline's block is removed but it still exists in the "
        "state; approved, and the latest validation is fresh and clean: the "
        "cutover can finish."
    )
    assert [(g.name, g.open) for g in result.gates] == [
        ("approval", True),
        ("fresh_validation", True),
    ]


def test_reader_gaps_are_named_with_since_and_one_or_several():
    since = datetime(2026, 2, 1, 8, 30, 15, 123456, tzinfo=UTC)
    one = (ReaderGap("payments", "artie_pipeline.p", since),)
    assert reader_gaps_reason(one) == (
        "The reader is shared but missing payments (used by artie_pipeline.p; not captured "
        "since 2026-02-01T08:30:15+00:00, the reader's last update at Artie; Artie reports no "
        "status for the table): promote will add it."
    )
    with_status = (ReaderGap("payments", "artie_pipeline.p", since, "not_captured"),)
    assert reader_gaps_reason(with_status) == (
        "The reader is shared but missing payments (used by artie_pipeline.p; not captured "
        "since 2026-02-01T08:30:15+00:00, the reader's last update at Artie; Artie's table "
        "status: not_captured): promote will add it."
    )
    two = (ReaderGap("a", "p1"), ReaderGap("b", "p2"))
    assert reader_gaps_reason(two) == (
        "The reader is shared but missing a (used by p1), b (used by p2): promote will add them."
    )


def test_an_abort_rollback_is_unfinished_while_the_new_pipeline_is_declared_or_in_state():
    abort = Approval("ana", "abort", "v1")
    for declared, uuids in (
        (True, {READER: "r-1", OLD: "p-1"}),
        (False, {READER: "r-1", OLD: "p-1", NEW: "p-2"}),
    ):
        module = ModuleFacts(
            reader_shared=True,
            reader_tables=(),
            old_pipeline_declared=True,
            new_pipeline_declared=declared,
            pending_step=None,
            uuids=uuids,
        )
        result = assess(facts(module=module, approval=abort))
        assert result.reason == (
            "ana aborted the migration. The rollback has not finished: artie_pipeline.v2 "
            "still exists. Run `migration-pipeline abort` again (or launch the abort job) to "
            "finish it."
        )
