"""Where a migration stands: facts (module, state, Artie API, validations, approvals) -> phase,
the gates on its way and the next step allowed. Pure: no I/O and no Terraform library; the
caller gathers the facts into the plain models below.

`planned -> reader_shared -> backfilling -> caught_up -> approved -> cut_over -> complete`, plus
`aborted`. Unsharing the reader (when the spec asks) is the step from `cut_over` to `complete`.
The phase is never stored; it is derived again on every look.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from migration_pipeline.artie.models import PipelineDetail
from migration_pipeline.artie.progress import summary
from migration_pipeline.errors import SpecError


class Phase(StrEnum):
    """Where a migration stands, in order (`aborted` is outside the order)."""

    PLANNED = "planned"
    READER_SHARED = "reader_shared"
    BACKFILLING = "backfilling"
    CAUGHT_UP = "caught_up"
    APPROVED = "approved"
    CUT_OVER = "cut_over"
    COMPLETE = "complete"
    ABORTED = "aborted"


class Step(StrEnum):
    """A Terraform step of the migration, in the order they run."""

    PROMOTE = "promote"
    CREATE = "create"
    CUTOVER = "cutover"
    UNSHARE = "unshare"


STEPS = tuple(Step)
STREAMING = "streaming"
# The phase a step starts from (where it stands while pending), and the first phase in which
# its effect is in place.
_PENDING_PHASE = {
    Step.PROMOTE: Phase.PLANNED,
    Step.CREATE: Phase.READER_SHARED,
    Step.CUTOVER: Phase.APPROVED,
    Step.UNSHARE: Phase.CUT_OVER,
}
_DONE_FROM = {
    Step.PROMOTE: Phase.READER_SHARED,
    Step.CREATE: Phase.BACKFILLING,
    Step.CUTOVER: Phase.CUT_OVER,
    Step.UNSHARE: Phase.COMPLETE,
}
_ORDER = tuple(p for p in Phase if p is not Phase.ABORTED)
REMOVED_OUTSIDE_CUTOVER = (
    "The old pipeline's block was removed outside a cutover step: restore "
    "it, or approve a fresh passing validation."
)
PENDING_CUTOVER = (
    "A cutover step is running or stopped before it finished; it resumes only with an approval "
    "and a fresh passing validation."
)


def done_in(step: str, phase: str) -> bool:
    """Whether `step`'s effect is in place in `phase` (never in `aborted`)."""
    if phase == Phase.ABORTED:
        return False
    return _ORDER.index(Phase(phase)) >= _ORDER.index(_DONE_FROM[Step(step)])


@dataclass(frozen=True)
class ReaderGap:
    """A table an attached pipeline replicates that the shared reader does not capture. When
    Artie's running reader already leaves it out: `since` is the reader's last update at Artie
    (Artie gives no time per table, so the best fact there is) and `artie_status` the table's
    status Artie reports on the attached pipelines (e.g. `not_captured`), if any; else None."""

    table: str
    used_by: str
    since: datetime | None = None
    artie_status: str | None = None

    def describe(self) -> str:
        """`payments (used by X; not captured since T (...))`."""
        if self.since is None:
            return f"{self.table} (used by {self.used_by})"
        status = (
            f"Artie's table status: {self.artie_status}"
            if self.artie_status
            else "Artie reports no status for the table"
        )
        return (
            f"{self.table} (used by {self.used_by}; not captured since "
            f"{self.since.isoformat(timespec='seconds')}, the reader's last update at Artie; "
            f"{status})"
        )


@dataclass(frozen=True)
class ModuleFacts:
    """The migration's resources as the module declares them and the state holds them (`uuids`
    maps the reader / old / new pipeline address to its uuid; empty without the state)."""

    reader_shared: bool
    reader_tables: tuple[str, ...]
    old_pipeline_declared: bool
    new_pipeline_declared: bool
    pending_step: str | None
    uuids: dict[str, str] = field(default_factory=dict)
    reader_gaps: tuple[ReaderGap, ...] = ()  # a shared reader is promoted only when empty


@dataclass(frozen=True)
class ValidationRecord:
    """One validation of the new destination against the old one (`id` names it for approvals).
    `verdict` is clean, inconclusive or mismatch (validation/verdict.py); `reason` says why."""

    id: str
    verdict: str
    finished_at: datetime
    mismatched_rows: int = 0
    reason: str = ""
    mode: str = "full"  # full | incremental | mixed: how its tables were compared
    coverage: str = ""  # what it covered, per table (e.g. "orders: incremental since ...")

    @property
    def clean(self) -> bool:
        return self.verdict == "clean"


@dataclass(frozen=True)
class Approval:
    """A person's decision (`approve`, `reject` or `abort`) on the validation `validation_id`."""

    who: str
    decision: str
    validation_id: str
    comment: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class GateSettings:
    """How much evidence the gates ask for (from the spec's `gates:`)."""

    clean_validations: int = 2
    max_validation_age: timedelta = timedelta(minutes=30)
    unshare: bool = True


@dataclass(frozen=True)
class MigrationFacts:
    """What is true now. `validations` newest first; `approval` the latest decision recorded."""

    module: ModuleFacts
    reader: str
    old_pipeline: str
    new_pipeline: str
    new_status: PipelineDetail | None = None
    validations: tuple[ValidationRecord, ...] = ()
    approval: Approval | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class Gate:
    """A condition between two phases; `reason` says why it is open or closed."""

    name: str
    open: bool
    reason: str


@dataclass(frozen=True)
class Assessment:
    """The phase, the gates checked on the way, and the next step (None: wait or done)."""

    phase: Phase
    next_step: Step | None
    reason: str
    gates: tuple[Gate, ...] = ()

    def gate(self, name: str) -> Gate | None:
        return next((g for g in self.gates if g.name == name), None)

    @property
    def closed_gate(self) -> Gate | None:
        return next((g for g in self.gates if not g.open), None)


def clean_streak(validations: tuple[ValidationRecord, ...]) -> tuple[ValidationRecord, ...]:
    """The newest validations in a row that were clean (newest first): an inconclusive one
    ends the streak too, since it is no evidence of being caught up."""
    streak = []
    for record in validations:
        if not record.clean:
            break
        streak.append(record)
    return tuple(streak)


def is_streaming(status: PipelineDetail | None) -> bool:
    """Artie reports every table of the pipeline streaming (backfill done)."""
    return (
        status is not None
        and bool(status.tables)
        and not status.has_backfilling_tables
        and all(t.status == STREAMING for t in status.tables)
    )


def catch_up_gate(facts: MigrationFacts, settings: GateSettings) -> Gate:
    """Open when the new pipeline streams every table and enough validations in a row matched."""
    status = facts.new_status
    if status is None:
        return Gate("catch_up", False, f"Artie reports no status for {facts.new_pipeline} yet.")
    if not is_streaming(status):
        return Gate(
            "catch_up",
            False,
            f"{facts.new_pipeline} is still backfilling: "
            f"{summary(status, facts.now or datetime.now(UTC))}.",
        )
    streak = clean_streak(facts.validations)
    needed = settings.clean_validations
    if len(streak) < needed:
        latest = facts.validations[0] if facts.validations else None
        last = (
            "no validation has run yet"
            if latest is None
            else "the latest validation was clean"
            if latest.clean
            else f"the latest validation was {latest.verdict}: {latest.reason}"
        )
        return Gate(
            "catch_up",
            False,
            f"{len(streak)} of {needed} consecutive clean validations so far ({last}).",
        )
    return Gate(
        "catch_up",
        True,
        f"{facts.new_pipeline} streams every table and the last "
        f"{len(streak)} validations were clean.",
    )


def freshness_gate(facts: MigrationFacts, settings: GateSettings) -> Gate:
    """Open when the latest validation is clean and no older than the allowed age."""
    streak = clean_streak(facts.validations)
    if not streak:
        latest = facts.validations[0] if facts.validations else None
        return Gate(
            "fresh_validation",
            False,
            "No validation has run yet."
            if latest is None
            else f"The latest validation was {latest.verdict}: {latest.reason}.",
        )
    age = (facts.now - streak[0].finished_at) if facts.now else timedelta(0)
    limit = settings.max_validation_age
    if age > limit:
        return Gate(
            "fresh_validation",
            False,
            f"The latest passing validation is {_minutes(age)} old; cutover needs one "
            f"no older than {_minutes(limit)}. Run the job again to validate.",
        )
    return Gate("fresh_validation", True, f"The latest validation passed {_minutes(age)} ago.")


def approval_gate(facts: MigrationFacts) -> Gate:
    """Open when the latest decision approves a clean validation and no validation since has
    confirmed a mismatch (an inconclusive one does not void it)."""
    approval = facts.approval
    if approval is None:
        return Gate(
            "approval",
            False,
            "Waiting for a person to approve the cutover (materialize "
            "the approval asset, or `migration-pipeline approve`).",
        )
    if approval.decision != "approve":
        return Gate(
            "approval",
            False,
            f"{approval.who} decided {approval.decision!r}"
            + (f": {approval.comment}" if approval.comment else "")
            + ".",
        )
    ids = [r.id for r in facts.validations]
    if approval.validation_id not in ids:
        return Gate(
            "approval",
            False,
            f"{approval.who}'s approval was for validation "
            f"{approval.validation_id}, which is not among the recorded validations; "
            "approve the latest validation again.",
        )
    since = facts.validations[: ids.index(approval.validation_id) + 1]
    voiding = next((r for r in since if r.verdict == "mismatch"), None)
    if voiding is not None:
        return Gate(
            "approval",
            False,
            f"{approval.who}'s approval of validation "
            f"{approval.validation_id} is void: validation {voiding.id} confirmed a "
            f"mismatch ({voiding.reason}); approve a later clean validation.",
        )
    return Gate(
        "approval", True, f"Approved by {approval.who} for validation {approval.validation_id}."
    )


def assess(facts: MigrationFacts, settings: GateSettings = GateSettings()) -> Assessment:
    """The current phase and the next allowed step (see the module doc)."""
    m = facts.module
    old_gone = not m.old_pipeline_declared and facts.old_pipeline not in m.uuids
    if old_gone and facts.new_pipeline not in m.uuids:
        raise SpecError(
            "old_pipeline",
            f"{facts.old_pipeline} is neither in the module nor in "
            "the Terraform state; check the address (`<type>.<name>`).",
        )
    if old_gone and not m.pending_step and not (settings.unshare and m.reader_shared):
        return Assessment(
            Phase.COMPLETE,
            None,
            "The old pipeline is deleted"
            + (" and the reader is dedicated again." if settings.unshare else "."),
        )
    if facts.approval is not None and facts.approval.decision == "abort":
        return Assessment(
            Phase.ABORTED,
            None,
            f"{facts.approval.who} aborted the migration"
            + (f": {facts.approval.comment}." if facts.approval.comment else ".")
            + _rollback_state(facts),
        )
    if m.pending_step == Step.CUTOVER and facts.old_pipeline in m.uuids:
        return _cutover_gated(
            facts,
            settings,
            PENDING_CUTOVER,
            "Approved, and the latest validation is fresh and clean; a cutover step is "
            "running or stopped before it finished: if none runs, running it again converges it.",
        )
    if m.pending_step and m.pending_step.startswith("abort_"):
        return Assessment(
            Phase.ABORTED,
            None,
            f"An abort step ({m.pending_step}) is running or stopped before "
            "it finished: if none runs, run `migration-pipeline abort` again (or launch the abort "
            "job) to finish the rollback.",
        )
    if m.pending_step:
        step = Step(m.pending_step)
        return Assessment(
            _PENDING_PHASE[step],
            step,
            f"A {step} step is running or stopped before it finished; if none runs, running it "
            "again converges it.",
        )
    if old_gone:
        return Assessment(
            Phase.CUT_OVER,
            Step.UNSHARE,
            "The old pipeline is deleted; the reader "
            "is still shared and the spec asks to unshare it.",
        )
    if not m.old_pipeline_declared:
        return _cutover_gated(
            facts,
            settings,
            REMOVED_OUTSIDE_CUTOVER,
            "The old pipeline's "
            "block is removed but it still exists in the state; approved, and "
            "the latest validation is fresh and clean: the cutover can finish.",
        )
    if m.reader_shared and m.reader_gaps:
        return Assessment(Phase.PLANNED, Step.PROMOTE, reader_gaps_reason(m.reader_gaps))
    if not (m.reader_shared and m.uuids.get(facts.reader)):
        return Assessment(Phase.PLANNED, Step.PROMOTE, "The reader is not shared yet.")
    if facts.new_pipeline not in m.uuids:
        return Assessment(Phase.READER_SHARED, Step.CREATE, "The new pipeline does not exist yet.")
    catch_up = catch_up_gate(facts, settings)
    if not catch_up.open:
        phase = Phase.CAUGHT_UP if is_streaming(facts.new_status) else Phase.BACKFILLING
        return Assessment(phase, None, catch_up.reason, (catch_up,))
    approval = approval_gate(facts)
    if not approval.open:
        return Assessment(Phase.CAUGHT_UP, None, approval.reason, (catch_up, approval))
    fresh = freshness_gate(facts, settings)
    gates = (catch_up, approval, fresh)
    if not fresh.open:
        return Assessment(Phase.APPROVED, None, fresh.reason, gates)
    return Assessment(
        Phase.APPROVED,
        Step.CUTOVER,
        "Approved, and the latest validation is fresh and clean: the old pipeline can be deleted.",
        gates,
    )


def reader_gaps_reason(gaps: tuple[ReaderGap, ...]) -> str:
    """`reader shared but missing payments (used by ...): promote will add it`."""
    shown = ", ".join(g.describe() for g in gaps)
    return f"The reader is shared but missing {shown}: promote will add " + (
        "it." if len(gaps) == 1 else "them."
    )


def _rollback_state(facts: MigrationFacts) -> str:
    """Whether the abort's rollback still has the new pipeline to delete."""
    m = facts.module
    if m.new_pipeline_declared or facts.new_pipeline in m.uuids:
        return (
            f" The rollback has not finished: {facts.new_pipeline} still exists. Run "
            "`migration-pipeline abort` again (or launch the abort job) to finish it."
        )
    return f" Rolled back: {facts.new_pipeline} is deleted."


def _cutover_gated(
    facts: MigrationFacts, settings: GateSettings, why: str, ready: str
) -> Assessment:
    """Cutover (deleting the old pipeline) only behind the approval and freshness gates; a closed
    gate keeps its name and says `why` before its own reason."""
    gates: list[Gate] = []
    for gate in (approval_gate(facts), freshness_gate(facts, settings)):
        if not gate.open:
            gate = replace(gate, reason=f"{why} {gate.reason}")
            phase = Phase.CAUGHT_UP if gate.name == "approval" else Phase.APPROVED
            return Assessment(phase, None, gate.reason, (*gates, gate))
        gates.append(gate)
    return Assessment(Phase.APPROVED, Step.CUTOVER, ready, tuple(gates))


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
