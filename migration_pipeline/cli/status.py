"""`migration-pipeline status`: a migration's phase, its gates and the next step."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.artie.progress import pipeline_progress, summary
from migration_pipeline.cli.common import add_spec_arguments, api_key, config_path
from migration_pipeline.orchestration.approvals import open_instance
from migration_pipeline.orchestration.facts import UNREADABLE, Snapshot, gather
from migration_pipeline.orchestration.refusals import latest_refusal
from migration_pipeline.orchestration.runs import Automation, automation, job_name
from migration_pipeline.phases import Phase
from migration_pipeline.spec import MigrationSpec, load_spec
from migration_pipeline.terraform.runner import TerraformRunner

if TYPE_CHECKING:
    import dagster as dg

DESCRIPTION = (
    "Derive the migration's phase from the Terraform module and state, Artie's API, and the "
    "validations and approvals in the Dagster instance ($DAGSTER_HOME); show each gate with its "
    "reason and the next step the job would take. Changes nothing. Exit 0 ok, 1 the migration "
    "was aborted or a service failed, 2 usage or input error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def snapshot_of(spec: MigrationSpec, instance: dg.DagsterInstance) -> Snapshot:
    with ArtieClient(spec.artie.api_url, api_key(spec.artie.api_key_env)) as client:
        return gather(spec, TerraformRunner.for_spec(spec.terraform), client, instance)


def status_json(
    spec: MigrationSpec,
    snapshot: Snapshot,
    refused: str | None = None,
    runs: Automation | None = None,
) -> dict:
    a, f = snapshot.assessment, snapshot.facts
    latest = f.validations[0] if f.validations else None
    now = f.now or datetime.now(UTC)
    return {
        "migration": spec.name,
        "phase": a.phase,
        "next_step": a.next_step,
        "reason": a.reason,
        "refused": refused,
        "progress": None
        if f.new_status is None
        else {
            "summary": summary(f.new_status, now),
            "tables": [asdict(p) for p in pipeline_progress(f.new_status, now)],
        },
        "gates": [{"name": g.name, "open": g.open, "reason": g.reason} for g in a.gates],
        "latest_validation": None
        if latest is None
        else {
            "id": latest.id,
            "verdict": latest.verdict,
            "finished_at": latest.finished_at.isoformat(),
            "mode": latest.mode,
            "coverage": latest.coverage,
        },
        "approval": None
        if f.approval is None
        else {
            "who": f.approval.who,
            "decision": f.approval.decision,
            "validation_id": f.approval.validation_id,
            "comment": f.approval.comment,
        },
        "sensor": None if runs is None else _sensor(a.phase, runs, spec.gates.retry_grace_seconds),
    }


def _sensor(phase: str, runs: Automation, grace: float) -> dict:
    if phase in (Phase.COMPLETE, Phase.ABORTED):
        return {"may_launch": False, "reason": f"nothing left to launch: the migration is {phase}"}
    if runs.missed_retry:
        reason = (
            f"Dagster has not retried crashed run {runs.missed_retry} within {grace:g} s "
            "(gates.retry_grace_seconds): the sensor launches the job in its place at its next tick"
        )
    else:
        reason = runs.blocker or (
            "a person launched the job; the sensor launches it again when a gate may have opened"
        )
    return {"may_launch": not runs.parked, "reason": reason}


def render(status: dict) -> str:
    lines = [
        f"{status['migration']}: {status['phase']}",
        f"  next step: {status['next_step'] or '(none: waiting or done)'}",
        f"  why: {status['reason']}",
    ]
    if status.get("refused"):
        lines.append(f"  latest run refused: {status['refused']}")
    if status["progress"] is not None:
        lines.append(f"  new pipeline: {status['progress']['summary']}")
    lines += [
        f"  gate {g['name']}: {'open' if g['open'] else 'closed'} - {g['reason']}"
        for g in status["gates"]
    ]
    v, ap = status["latest_validation"], status["approval"]
    lines.append(
        "  latest validation: "
        + ("none" if v is None else f"{v['id']} {v['verdict']} ({v['mode']})")
    )
    if v is not None and v["coverage"]:
        lines.append(f"  coverage: {v['coverage']}")
    lines.append(
        "  approval: "
        + (
            "none"
            if ap is None
            else f"{ap['decision']} by {ap['who']} on validation {ap['validation_id']}"
        )
    )
    if status.get("sensor"):
        sensor = status["sensor"]
        lines.append(
            f"  sensor: {'may launch' if sensor['may_launch'] else 'waits'} - {sensor['reason']}"
        )
    return "\n".join(lines)


def current_status(spec: MigrationSpec, instance: dg.DagsterInstance) -> dict:
    """What `status --json` prints now. A module the steps cannot work with (e.g. `is_shared`
    written as an expression, a reader declared with `for_each`, an address it lacks) leaves the
    phase `unknown`, with the reason; the latest run's refusal is shown as for every other."""
    refused = latest_refusal(instance, job_name(spec))
    runs = automation(instance, job_name(spec), grace=spec.gates.retry_grace_seconds)
    try:
        snapshot = snapshot_of(spec, instance)
    except UNREADABLE as e:
        return unknown_status(spec, e, refused, runs)
    return status_json(spec, snapshot, refused, runs)


def unknown_status(
    spec: MigrationSpec, error: Exception, refused: str | None, runs: Automation | None
) -> dict:
    """The status when the facts cannot be read: every field `status_json` has, phase unknown."""
    return {
        "migration": spec.name,
        "phase": "unknown",
        "next_step": None,
        "reason": f"The phase cannot be derived: {error}",
        "refused": refused,
        "progress": None,
        "gates": [],
        "latest_validation": None,
        "approval": None,
        "sensor": None
        if runs is None
        else _sensor("unknown", runs, spec.gates.retry_grace_seconds),
    }


def run(args: argparse.Namespace) -> int:
    spec = load_spec(config_path(args), args.migration)
    with open_instance() as instance:
        status = current_status(spec, instance)
    print(json.dumps(status, indent=2) if args.json else render(status))
    return 1 if status["phase"] == "aborted" else 0
