"""Who launched a migration's runs and how they ended: the run tags, the pool, and whether the
catch-up sensor may act (only after a person's launch that no one has withdrawn since).

A crash is not a person's decision: a run whose worker died (SIGKILL, out of memory, a lost
machine) is failed by Dagster and retried by its run retries (the migration's runs carry the
retry tags; the shipped dagster.yaml turns retries on); a retry continues the launch it came
from. A run a person terminated, a refused step and an op that failed are never retried. Should
Dagster's retry daemon miss a crash (it has: a run failed with `will_retry` and no retry ever
came), the catch-up sensor launches the job in its place once the spec's
`gates.retry_grace_seconds` have passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dagster as dg

from migration_pipeline.spec import RETRY_GRACE_SECONDS, MigrationSpec

MIGRATION_TAG = "migration"
LAUNCHED_BY_TAG = "migration/launched_by"
SENSOR = "sensor"
STOPPED_AT_TAG = "migration/stopped_at"
STOP_REASON_TAG = "migration/stop_reason"
MISMATCHED_KEYS_TAG = "migration/first_mismatched_keys"
REFUSED_TAG = "migration/refused"  # set by orchestration.refusals on a refused step
# Enough of a reason to read in the runs list; the full one is in the run's event log.
TAG_TEXT_LIMIT = 200
# Dagster's run retries (its auto re-execution daemon): a crashed run is launched again, every
# step from the start (each is idempotent and converges), a few times at most; a run that failed
# in an op (an error to read) is not retried.
MAX_CRASH_RETRIES = 3
RETRY_TAGS = {
    "dagster/max_retries": str(MAX_CRASH_RETRIES),
    "dagster/retry_strategy": "ALL_STEPS",
    "dagster/retry_on_asset_or_op_failure": "false",
}
RETRY_NUMBER_TAG = "dagster/retry_number"  # set by Dagster on its automatic retries only
WILL_RETRY_TAG = "dagster/will_retry"
# A crashed run the sensor launched the job in place of (Dagster missed its retry): waited for no
# longer.
RETRIED_BY_TAG = "migration/retried_by"

# A run in any of these may still be inside `terraform apply`.
ACTIVE = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.MANAGED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUSPENDED,
    dg.DagsterRunStatus.CANCELING,
)
# A person terminated it, or it failed (or, tagged, a step was refused): each withdraws the
# launch it came from, except a crashed run Dagster retries.
WITHDRAWN = (dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE)
# How many recent runs are searched for a person's launch (older ones: the sensor's cursor).
RECENT_RUNS = 50


def pool(spec: MigrationSpec) -> str:
    """The Dagster pool of every op and asset that runs terraform or validates for `spec`: with
    the shipped dagster.yaml (`pools: default_limit: 1`, run granularity) one run at a time per
    migration, whatever launched it (the job, the sensor, a UI materialization, a schedule)."""
    return f"migration-{spec.name}"


def job_name(spec: MigrationSpec) -> str:
    return f"{spec.name}_job"


def job_tags(spec: MigrationSpec) -> dict[str, str]:
    """The tags of every run of the migration's jobs: its name (one run per migration) and the
    run retries that relaunch a run whose worker crashed."""
    return {MIGRATION_TAG: spec.name, **RETRY_TAGS}


def sensor_tags() -> dict[str, str]:
    """What marks a run the catch-up sensor launched; a run of the job without it is a person's."""
    return {LAUNCHED_BY_TAG: SENSOR}


def stop_tags(gate: str, reason: str, keys: str = "") -> dict[str, str]:
    """Where a run stopped and why (and the first mismatched keys, if any), for the runs list."""
    tags = {STOPPED_AT_TAG: gate, STOP_REASON_TAG: short(reason)}
    return {**tags, MISMATCHED_KEYS_TAG: short(keys)} if keys else tags


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TAG_TEXT_LIMIT else text[: TAG_TEXT_LIMIT - 1] + "…"


def launched_by_person(run: dg.DagsterRun) -> bool:
    """Neither the sensor's run nor Dagster's automatic retry of a crashed run."""
    return run.tags.get(LAUNCHED_BY_TAG) != SENSOR and RETRY_NUMBER_TAG not in run.tags


def retried_crash(run: dg.DagsterRun) -> bool:
    """A failed run Dagster retries (or has retried): its worker died, nobody decided anything."""
    return run.status == dg.DagsterRunStatus.FAILURE and run.tags.get(WILL_RETRY_TAG) == "true"


@dataclass(frozen=True)
class Automation:
    """Whether the catch-up sensor may launch `job` now. `person_run` is the newest run a person
    launched (None: never, as far as the sensor knows); `blocker` says why it may not (None: it
    may, when a gate may have changed)."""

    job: str
    person_run: str | None
    blocker: str | None
    # A crashed run whose retry Dagster has not launched within the grace.
    missed_retry: str | None = None

    @property
    def parked(self) -> bool:
        return self.blocker is not None


def automation(
    instance: dg.DagsterInstance,
    job: str,
    known_person_run: str | None = None,
    now: float | None = None,
    grace: float = RETRY_GRACE_SECONDS,
) -> Automation:
    """The sensor's standing from the job's recent runs: it waits while a run is active or a
    crashed run waits for its retry (`missed_retry` once Dagster is `grace` s late), for a
    person's first launch, and after a run a person terminated or one that failed (a crashed
    run Dagster retried is not a failure here)."""
    records = instance.get_run_records(dg.RunsFilter(job_name=job), limit=RECENT_RUNS)
    runs = [r.dagster_run for r in records]
    person = next((r.run_id for r in runs if launched_by_person(r)), known_person_run)
    active = next((r for r in runs if r.status in ACTIVE), None)
    if active is not None:
        return Automation(job, person, f"run {active.run_id} of {job} is still in progress")
    crashed = next(
        (
            r
            for r in records
            if r.dagster_run.is_complete_and_waiting_to_retry
            and RETRIED_BY_TAG not in r.dagster_run.tags
        ),
        None,
    )
    if crashed is not None:
        waited = (now or time.time()) - (crashed.end_time or crashed.update_timestamp.timestamp())
        if waited >= grace:
            return Automation(job, person, None, crashed.dagster_run.run_id)
        return Automation(
            job,
            person,
            f"run {crashed.dagster_run.run_id} of {job} crashed (its worker died); Dagster "
            "retries it",
        )
    if person is None:
        return Automation(
            job,
            None,
            (
                f"no person has launched {job} yet: the sensor only carries on a migration a person "
                "started. Launch the job (Dagster UI, Launchpad) to start it."
            ),
        )
    # Runs since the person's launch, newest first (all recent ones if it is older than those).
    since = runs[: next((i + 1 for i, r in enumerate(runs) if r.run_id == person), len(runs))]
    ended = next(
        (
            r
            for r in since
            if (r.status in WITHDRAWN and not retried_crash(r)) or REFUSED_TAG in r.tags
        ),
        None,
    )
    if ended is None:
        return Automation(job, person, None)
    who = (
        "Dagster's retry"
        if RETRY_NUMBER_TAG in ended.tags
        else ("a person's" if launched_by_person(ended) else "the sensor's")
    )
    if REFUSED_TAG in ended.tags:
        return Automation(
            job,
            person,
            (
                f"the latest run {ended.run_id} of {job} was refused: {ended.tags[REFUSED_TAG]} "
                "Fix that, then launch the job again."
            ),
        )
    if ended.status == dg.DagsterRunStatus.CANCELED:
        return Automation(
            job,
            person,
            (
                f"a person stopped the migration: {who} run {ended.run_id} of {job} was terminated. "
                "The sensor launches nothing until a person launches the job again."
            ),
        )
    return Automation(
        job,
        person,
        (
            f"{who} run {ended.run_id} of {job} failed: read its logs, fix the cause, then "
            "launch the job again (the sensor waits until a person does)."
        ),
    )
