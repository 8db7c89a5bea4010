"""A refused step as a clean stop that reaches the person: the reason in the op's output
metadata, the run's log at error level and a run tag, which the sensor and `status` read back.

Only refusals (a step that must not run as things stand: a plan-guard refusal, a module or spec
a step cannot work with, an input check that failed) stop cleanly; anything unexpected still
fails the run with its trace.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from migration_pipeline.errors import (
    ConfigurationError,
    ModuleEditError,
    PlanGuardRefusal,
    StepRefused,
)
from migration_pipeline.orchestration.runs import REFUSED_TAG as TAG
from migration_pipeline.orchestration.runs import stop_tags

REFUSALS = (StepRefused, PlanGuardRefusal, ModuleEditError, ConfigurationError)
_TAG_LIMIT = 1000  # run tags are for short values; the op's metadata holds the full reason


def refuse(
    context: dg.OpExecutionContext, step: str, error: Exception, phase: str | None
) -> Iterator[dg.Output]:
    """Stop the run here, saying why `step` was refused (no stack trace: it is expected)."""
    reason = f"{step} refused: {error}"
    context.log.error(reason)
    context.instance.add_run_tags(
        context.run_id, {TAG: reason[:_TAG_LIMIT], **stop_tags(f"{step} (refused)", reason)}
    )
    metadata = {
        "phase": str(phase or "unknown"),
        "gate": "refused",
        "reason": dg.MetadataValue.text(reason),
    }
    result = getattr(error, "result", None)
    if result is not None:
        metadata["step_result"] = dg.MetadataValue.md(result.to_markdown())
    yield dg.Output(None, "gate_closed", metadata=metadata)


def latest_refusal(instance: dg.DagsterInstance, job_name: str) -> str | None:
    """The reason the latest run of `job_name` was refused, or None (a later run clears it)."""
    runs = instance.get_runs(dg.RunsFilter(job_name=job_name), limit=1)
    return runs[0].tags.get(TAG) if runs else None
