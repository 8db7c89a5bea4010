"""The phase and the next step follow from hand-written facts, and every closed gate says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.errors import SpecError
from migration_pipeline.phases import (
    STEPS,
    Approval,
    GateSettings,
    MigrationFacts,
    ModuleFacts,
    Phase,
    ReaderGap,
    Step,
    ValidationRecord,
    approval_gate,
    assess,
    done_in,
    freshness_gate,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
READER, OLD, NEW = "artie_source_reader.shop", "artie_pipeline.v1", "artie_pipeline.v2"
UUIDS = {READER: "r-1", OLD: "p-1"}


def module(**changes) -> ModuleFacts:
    base = ModuleFacts(
        reader_shared=False,
        reader_tables=(),
        old_pipeline_declared=True,
        new_pipeline_declared=False,
        pending_step=None,
        uuids=dict(UUIDS),
    )
    return replace(base, **changes)


def status(*tables: tuple[str, str], backfilling: bool = False) -> PipelineDetail:
    return PipelineDetail(
        "p-2",
        "v2",
        "r-1",
        "c-2",
        "running",
        tables=tuple(TableStatus(name, "", st) for name, st in tables),
        has_backfilling_tables=backfilling,
    )


def clean(n: int, newest_age: timedelta = timedelta(minutes=1)) -> tuple[ValidationRecord, ...]:
    return tuple(
        ValidationRecord(f"v{n - i}", "clean", NOW - newest_age - timedelta(minutes=i))
        for i in range(n)
    )


STREAMING = status(("orders", "streaming"), ("customers", "streaming"))
CREATED = module(reader_shared=True, new_pipeline_declared=True, uuids={**UUIDS, NEW: "p-2"})


def facts(mod: ModuleFacts = CREATED, **changes) -> MigrationFacts:
    return replace(MigrationFacts(mod, READER, OLD, NEW, now=NOW), **changes)


def test_a_dedicated_reader_is_planned_and_promote_comes_next():
    result = assess(facts(module()))
    assert (result.phase, result.next_step) == ("planned", "promote")


def test_a_shared_reader_without_the_new_pipeline_asks_for_create():
    result = assess(facts(module(reader_shared=True)))
    assert (result.phase, result.next_step) == ("reader_shared", "create")


def test_an_interrupted_step_is_the_next_step():
    result = assess(facts(module(reader_shared=True, pending_step="create")))
    assert (result.phase, result.next_step) == ("reader_shared", "create")


def test_an_abort_wins_over_an_interrupted_step():
    result = assess(
        facts(
            module(reader_shared=True, pending_step="create"),
            approval=Approval("ana", "abort", "v1"),
        )
    )
    assert (result.phase, result.next_step) == ("aborted", None)


PENDING_CUTOVER = replace(CREATED, old_pipeline_declared=False, pending_step="cutover")


def test_an_interrupted_cutover_without_approval_does_not_resume():
    result = assess(facts(PENDING_CUTOVER, new_status=STREAMING, validations=clean(2)))
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.closed_gate.name == "approval"
    assert result.reason.startswith(
        "A cutover step is running or stopped before it finished; it resumes only "
        "with an approval and a fresh passing validation. Waiting"
    )


def test_an_interrupted_cutover_with_a_stale_validation_does_not_resume():
    result = assess(
        facts(
            PENDING_CUTOVER,
            validations=clean(2, timedelta(hours=2)),
            approval=Approval("ana", "approve", "v2"),
        )
    )
    assert (result.phase, result.next_step) == ("approved", None)
    assert result.closed_gate.name == "fresh_validation"


def test_an_interrupted_cutover_resumes_with_approval_and_a_fresh_validation():
    result = assess(
        facts(PENDING_CUTOVER, validations=clean(2), approval=Approval("ana", "approve", "v2"))
    )
    assert (result.phase, result.next_step) == ("approved", "cutover")


def test_an_interrupted_cutover_whose_delete_was_applied_resumes_to_finish():
    mod = replace(PENDING_CUTOVER, uuids={READER: "r-1", NEW: "p-2"})
    assert assess(facts(mod)).next_step == "cutover"


def test_backfilling_tables_close_the_catch_up_gate_and_name_the_tables():
    result = assess(
        facts(
            new_status=status(
                ("orders", "streaming"), ("customers", "backfilling"), backfilling=True
            )
        )
    )
    assert (result.phase, result.next_step) == ("backfilling", None)
    assert result.closed_gate.name == "catch_up"
    assert result.reason == (
        "artie_pipeline.v2 is still backfilling: orders streaming; customers backfilling."
    )


def test_no_status_from_artie_keeps_the_gate_closed():
    result = assess(facts())
    assert result.phase == "backfilling"
    assert result.reason == "Artie reports no status for artie_pipeline.v2 yet."


def test_streaming_without_enough_clean_validations_is_caught_up_but_waits():
    result = assess(facts(new_status=STREAMING, validations=clean(1)))
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.reason == (
        "1 of 2 consecutive clean validations so far (the latest validation was clean)."
    )


def test_a_mismatch_resets_the_streak():
    bad = ValidationRecord("v9", "mismatch", NOW, 3, "3 mismatched keys confirmed")
    result = assess(facts(new_status=STREAMING, validations=(bad, *clean(3))))
    assert result.reason == (
        "0 of 2 consecutive clean validations so far (the latest "
        "validation was mismatch: 3 mismatched keys confirmed)."
    )


STALLED = "analytics_v2 is 22.0 s behind (limit 10 s); 3,051 keys in flight"


def test_an_inconclusive_validation_resets_the_streak_too():
    stalled = ValidationRecord("v9", "inconclusive", NOW, 0, STALLED)
    result = assess(facts(new_status=STREAMING, validations=(stalled, *clean(3))))
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.reason == (
        "0 of 2 consecutive clean validations so far (the latest "
        f"validation was inconclusive: {STALLED})."
    )


def test_an_inconclusive_validation_keeps_an_approval_but_holds_the_cutover():
    approval = Approval("ana", "approve", "v1")
    stalled = ValidationRecord("v9", "inconclusive", NOW, 0, STALLED)
    validations = (stalled, *clean(3))
    result = assess(
        facts(new_status=STREAMING, validations=validations, approval=approval),
    )
    assert result.gate("catch_up").open is False
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert approval_gate(facts(validations=validations, approval=approval)).open
    fresh = freshness_gate(
        facts(validations=validations, approval=approval, now=NOW), GateSettings()
    )
    assert (fresh.open, fresh.reason) == (
        False,
        f"The latest validation was inconclusive: {STALLED}.",
    )
    cleaned = (*clean(2), stalled, *clean(3))
    cleaned = tuple(replace(r, id=f"c{i}") for i, r in enumerate(cleaned[:2])) + cleaned[2:]
    result = assess(facts(new_status=STREAMING, validations=cleaned, approval=approval))
    assert (result.phase, result.next_step) == ("approved", "cutover")


def test_enough_clean_validations_wait_for_approval():
    result = assess(facts(new_status=STREAMING, validations=clean(2)))
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.closed_gate.name == "approval"
    assert result.gate("catch_up").open


def test_an_approval_of_a_validation_in_the_clean_streak_allows_cutover():
    approval = Approval("ana", "approve", "v1", "looks good")
    result = assess(facts(new_status=STREAMING, validations=clean(3), approval=approval))
    assert (result.phase, result.next_step) == ("approved", "cutover")
    assert result.gate("approval").reason == "Approved by ana for validation v1."


def test_an_approval_before_a_mismatch_no_longer_counts():
    approval = Approval("ana", "approve", "v1")
    later = (
        *clean(2),
        ValidationRecord(
            "v0", "mismatch", NOW - timedelta(hours=1), 1, "1 mismatched key confirmed"
        ),
    )
    old_streak = tuple(replace(r, id=f"new-{r.id}") for r in later[:2])
    result = assess(
        facts(
            new_status=STREAMING, validations=(*old_streak, later[2], *clean(1)), approval=approval
        )
    )
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.reason == (
        "ana's approval of validation v1 is void: validation v0 confirmed "
        "a mismatch (1 mismatched key confirmed); approve a later clean "
        "validation."
    )


def test_a_rejection_keeps_the_gate_closed_with_the_comment():
    approval = Approval("bo", "reject", "v2", "orders look short")
    result = assess(facts(new_status=STREAMING, validations=clean(2), approval=approval))
    assert result.reason == "bo decided 'reject': orders look short."


def test_a_stale_validation_blocks_cutover_after_approval():
    approval = Approval("ana", "approve", "v2")
    result = assess(
        facts(new_status=STREAMING, validations=clean(2, timedelta(hours=2)), approval=approval),
        GateSettings(max_validation_age=timedelta(minutes=30)),
    )
    assert (result.phase, result.next_step) == ("approved", None)
    assert result.closed_gate.name == "fresh_validation"
    assert result.reason.startswith("The latest passing validation is 120 min 0 s old")


def test_an_abort_decision_stops_the_migration():
    result = assess(facts(approval=Approval("ana", "abort", "v1", "wrong warehouse")))
    assert (result.phase, result.next_step) == ("aborted", None)
    assert result.reason == (
        "ana aborted the migration: wrong warehouse. The rollback has not finished: "
        f"{NEW} still exists. Run `migration-pipeline abort` again (or launch the abort job) "
        "to finish it."
    )


def test_an_abort_whose_rollback_deleted_the_new_pipeline_says_so():
    rolled_back = module(reader_shared=False, uuids={k: v for k, v in UUIDS.items() if k != NEW})
    result = assess(facts(rolled_back, approval=Approval("ana", "abort", "v1")))
    assert (result.phase, result.reason) == (
        "aborted",
        f"ana aborted the migration. Rolled back: {NEW} is deleted.",
    )


@pytest.mark.parametrize(
    ("shared", "unshare", "expected"),
    [
        (True, True, ("cut_over", "unshare")),
        (False, True, ("complete", None)),
        (True, False, ("complete", None)),
    ],
)
def test_after_cutover_unshare_follows_only_when_asked(shared, unshare, expected):
    mod = module(
        reader_shared=shared, old_pipeline_declared=False, uuids={READER: "r-1", NEW: "p-2"}
    )
    result = assess(facts(mod), GateSettings(unshare=unshare))
    assert (result.phase, result.next_step) == expected


REMOVED = module(reader_shared=True, old_pipeline_declared=False, uuids={**UUIDS, NEW: "p-2"})


def test_a_block_removed_by_hand_without_approval_does_not_cut_over():
    result = assess(facts(REMOVED, new_status=STREAMING, validations=clean(2)))
    assert (result.phase, result.next_step) == ("caught_up", None)
    assert result.closed_gate.name == "approval"
    assert result.closed_gate.reason.startswith(
        "The old pipeline's block was removed outside a cutover step: restore it, or approve a "
        "fresh passing validation. Waiting for a person"
    )
    assert result.reason == result.closed_gate.reason


def test_a_block_removed_by_hand_with_a_stale_validation_does_not_cut_over():
    result = assess(
        facts(
            REMOVED,
            validations=clean(2, timedelta(hours=2)),
            approval=Approval("ana", "approve", "v2"),
        )
    )
    assert (result.phase, result.next_step) == ("approved", None)
    assert result.closed_gate.name == "fresh_validation"
    assert "was removed outside a cutover step" in result.closed_gate.reason
    assert "120 min 0 s old" in result.closed_gate.reason


def test_a_block_removed_by_hand_with_approval_and_a_fresh_validation_cuts_over():
    result = assess(facts(REMOVED, validations=clean(2), approval=Approval("ana", "approve", "v2")))
    assert (result.phase, result.next_step) == ("approved", "cutover")
    assert result.closed_gate is None


def test_an_old_pipeline_neither_in_the_module_nor_in_the_state_is_an_input_error():
    mod = module(old_pipeline_declared=False, uuids={READER: "r-1"})
    with pytest.raises(SpecError, match="neither in the module nor in the") as e:
        assess(facts(mod))
    assert e.value.field == "old_pipeline"
    assert "artie_pipeline.v1" in str(e.value)


def test_an_abort_recorded_after_completion_leaves_the_migration_complete():
    mod = module(old_pipeline_declared=False, uuids={READER: "r-1", NEW: "p-2"})
    result = assess(facts(mod, approval=Approval("ana", "abort", "v1")))
    assert (result.phase, result.next_step) == ("complete", None)


def every_situation() -> list[MigrationFacts]:
    old_gone = replace(CREATED, old_pipeline_declared=False, uuids={READER: "r-1", NEW: "p-2"})
    approved = Approval("ana", "approve", "v2")
    return [
        facts(module()),
        facts(module(reader_shared=True)),
        facts(new_status=status(("orders", "backfilling"))),
        facts(new_status=STREAMING),
        facts(new_status=STREAMING, validations=clean(2), approval=approved),
        facts(old_gone),
        facts(replace(old_gone, reader_shared=False)),
        facts(approval=Approval("ana", "abort", "v1")),
    ]


def test_every_phase_in_the_list_is_returned_by_some_situation():
    assert {assess(f).phase for f in every_situation()} == set(Phase)


@pytest.mark.parametrize(
    ("step", "first_done"),
    [
        (Step.PROMOTE, Phase.READER_SHARED),
        (Step.CREATE, Phase.BACKFILLING),
        (Step.CUTOVER, Phase.CUT_OVER),
        (Step.UNSHARE, Phase.COMPLETE),
    ],
)
def test_a_step_is_done_from_the_phase_its_effect_shows_in_and_never_when_aborted(step, first_done):
    ordered = [p for p in Phase if p is not Phase.ABORTED]
    assert [p for p in ordered if done_in(step, p)] == ordered[ordered.index(first_done) :]
    assert not done_in(step, Phase.ABORTED)
    assert done_in(str(step), str(first_done))  # plain strings (as Dagster metadata keeps them)


def test_the_next_step_is_a_step_and_the_order_is_the_runbook_order():
    assert STEPS == ("promote", "create", "cutover", "unshare")
    for situation in every_situation():
        result = assess(situation)
        assert isinstance(result.phase, Phase)
        assert result.next_step is None or isinstance(result.next_step, Step)


def test_an_interrupted_abort_step_is_an_unfinished_rollback_whatever_was_decided_since():
    result = assess(
        facts(
            module(reader_shared=True, pending_step="abort_reader"),
            approval=Approval("ana", "reject", "v1"),
        )
    )
    assert (result.phase, result.next_step) == ("aborted", None)
    assert result.reason.startswith(
        "An abort step (abort_reader) is running or stopped before it finished"
    )


@pytest.mark.parametrize(
    "base", [module(reader_shared=True), CREATED], ids=["before-create", "mid-migration"]
)
def test_a_shared_reader_missing_a_table_is_not_promoted_whatever_the_phase(base):
    gaps = (ReaderGap("payments", OLD), ReaderGap("refunds", NEW, NOW - timedelta(hours=1)))
    result = assess(
        facts(replace(base, reader_gaps=gaps), new_status=STREAMING, validations=clean(2))
    )
    assert (result.phase, result.next_step, result.reason) == (
        "planned",
        "promote",
        "The reader is shared but missing payments (used by "
        "artie_pipeline.v1), refunds (used by artie_pipeline.v2; not captured since "
        "2026-01-01T11:00:00+00:00, the reader's last update at Artie; Artie reports no status "
        "for the table): promote will add them.",
    )
    assert not done_in("promote", result.phase)
