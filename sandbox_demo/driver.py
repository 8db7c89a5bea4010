"""Drives a migration the way a Dagster deployment does (sensor tick, then the run it asks for),
inside one process: for the demo and for scripted rehearsals without a daemon."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from migration_pipeline.errors import MigrationError
from migration_pipeline.orchestration import build_definitions
from migration_pipeline.orchestration.approvals import open_instance, record_approval
from migration_pipeline.orchestration.facts import UNREADABLE, gather
from migration_pipeline.spec import MigrationSpec, load_specs


@dataclass(frozen=True)
class Outcome:
    """After one tick: the phase, a line for the operator, and whether a person must decide."""

    phase: str
    line: str
    awaiting_approval: bool


def run_summary(result: dg.ExecuteInProcessResult) -> str:
    """`op ok, op ok, op stopped: reason` for one run (skipped ops left out)."""
    parts = []
    for event in result.all_events:
        if event.event_type_value != "STEP_OUTPUT":
            continue
        output = event.event_specific_data.step_output_handle.output_name
        if output == "proceed":
            parts.append(f"{event.step_key} ok")
        else:
            reason = event.event_specific_data.metadata["reason"].value
            parts.append(f"{event.step_key} stopped: {reason}")
    return ", ".join(parts)


class Driver:
    """One migration's job and catch-up sensor from a migrations file."""

    def __init__(self, defs: dg.Definitions, spec: MigrationSpec, log_level: str = "WARNING"):
        self.defs, self.spec = defs, spec
        self.run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
        self.job = defs.resolve_job_def(f"{spec.name}_job")
        self.sensor = defs.resolve_sensor_def(f"{spec.name}_catch_up_sensor")

    @classmethod
    def from_file(cls, config: Path, migration: str) -> Driver:
        specs = load_specs(config)
        return cls(build_definitions(specs), specs[migration])

    @staticmethod
    def instance() -> dg.DagsterInstance:
        return open_instance()

    def launch(self, instance: dg.DagsterInstance, tags: dict | None = None) -> str:
        """Run the job once, as a person launching it from the UI; returns its summary line."""
        result = self.job.execute_in_process(
            run_config=self.run_config, instance=instance, tags=tags, raise_on_error=False
        )
        line = f"run {result.run_id[:8]}: {run_summary(result) or 'failed'}"
        if not result.success:
            failure = next((e for e in result.all_events if e.is_step_failure), None)
            raise MigrationError(
                f"{line}; {failure.message if failure else 'run failed'}. "
                "Fix the cause, then run again: every step is idempotent."
            )
        return line

    def step(self, instance: dg.DagsterInstance) -> Outcome:
        """Evaluate the sensor once; run the job in process when it asks for a run."""
        context = dg.build_sensor_context(
            instance=instance, definitions=self.defs, resources=self.defs.resources
        )
        tick = self.sensor.evaluate_tick(context)
        line = f"waiting: {tick.skip_message}"
        for request in tick.run_requests or ():
            line = self.launch(instance, request.tags)
        # Outside a run, EnvVar-valued settings are resolved here (else the variable's name).
        artie = self.defs.resources["artie"].process_config_and_initialize()
        terraform = self.defs.resources["terraform"].process_config_and_initialize()
        try:
            with artie.client() as client:
                snapshot = gather(self.spec, terraform.runner(self.spec), client, instance)
        except UNREADABLE:
            return Outcome("unknown", line, False)  # the run's refusal (in `line`) says why
        closed = snapshot.assessment.closed_gate
        return Outcome(
            snapshot.assessment.phase, line, closed is not None and closed.name == "approval"
        )

    def approve(self, instance: dg.DagsterInstance, who: str, comment: str) -> dict:
        return record_approval(instance, self.spec, who, "approve", comment)
