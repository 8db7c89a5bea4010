"""Watching a migration in a running deployment as a person does: its status, its runs as the
runs list shows them, and the approval given from the UI when the job waits for one."""

from __future__ import annotations

import dagster as dg

from migration_pipeline.cli.status import current_status
from migration_pipeline.orchestration.event_metadata import approval_key
from migration_pipeline.orchestration.runs import (
    LAUNCHED_BY_TAG,
    STOP_REASON_TAG,
    STOPPED_AT_TAG,
    job_name,
)
from migration_pipeline.spec import MigrationSpec
from sandbox_demo.deployment import ASSET_JOB, Deployment, Run

DONE = ("SUCCESS", "FAILURE", "CANCELED")


class Watch:
    """One migration in one deployment: `status()`, `approve_when_asked()`, `progress()`."""

    def __init__(self, deployment: Deployment, spec: MigrationSpec, instance: dg.DagsterInstance):
        self.deployment, self.spec, self.instance = deployment, spec, instance
        self.job = job_name(spec)
        self.approved: list[str] = []  # validation ids approved, oldest first
        self.approval_runs: list[str] = []
        self._shown: dict[str, str] = {}

    def status(self) -> dict:
        """What `migration-pipeline status --json` prints."""
        return current_status(self.spec, self.instance)

    def approve_when_asked(self, status: dict, who: str, comment: str) -> str | None:
        """Materialize the approval asset for the latest validation (UI config who / comment /
        validation_id) when the job stopped at the approval gate and that validation was clean
        and not approved yet, and no run of the job is queued or in progress (it would validate
        again, and an approval of an older validation is refused); the run id, or None."""
        closed = next((g for g in status["gates"] if not g["open"]), None)
        latest = status["latest_validation"]
        if (
            any(r.status not in DONE for r in self.deployment.runs(self.job))
            or closed is None
            or closed["name"] != "approval"
            or latest is None
            or latest["verdict"] != "clean"
            or latest["id"] in self.approved
        ):
            return None
        self.approved.append(latest["id"])
        run_id = self.deployment.materialize(
            list(approval_key(self.spec).path),
            {
                "ops": {
                    f"{self.spec.name}__approval": {
                        "config": {
                            "who": who,
                            "decision": "approve",
                            "comment": comment,
                            "validation_id": latest["id"],
                        }
                    }
                }
            },
        )
        self.approval_runs.append(run_id)
        return run_id

    def runs(self) -> list[Run]:
        """This migration's runs (its job and its assets), oldest first."""
        found = self.deployment.runs(self.job) + [
            r for r in self.deployment.runs(ASSET_JOB) if r.run_id in self.approval_runs
        ]
        return sorted(found, key=lambda r: r.start or float("inf"))

    def progress(self) -> list[str]:
        """A line for every run that started or ended since the last call."""
        lines = []
        for run in self.runs():
            if self._shown.get(run.run_id) == run.status:
                continue
            self._shown[run.run_id] = run.status
            lines.append(describe(run))
        return lines


def describe(run: Run) -> str:
    """`run 1a2b3c4d (launched by ...) STATUS[: stopped at <gate>: <reason>]`."""
    who = (
        "the sensor"
        if run.tags.get(LAUNCHED_BY_TAG) == "sensor"
        else "a person (approval)"
        if run.job == ASSET_JOB
        else "a person"
    )
    line = f"run {run.run_id[:8]} of {run.job} (launched by {who}): {run.status.lower()}"
    if run.status in DONE and STOPPED_AT_TAG in run.tags:
        line += f", stopped at {run.tags[STOPPED_AT_TAG]}: {run.tags.get(STOP_REASON_TAG, '')}"
    return line
