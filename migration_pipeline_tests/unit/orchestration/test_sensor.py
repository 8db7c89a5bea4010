"""Only a person starts or resumes a migration: the sensor's standing from the job's runs, its
cursor (no launch while nothing changed, none for a lasting mismatch) and the stop tags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import dagster as dg
import pytest

from migration_pipeline.artie.models import PipelineDetail, TableStatus
from migration_pipeline.orchestration.facts import Snapshot
from migration_pipeline.orchestration.ops import build_job, first_keys, mismatch_reason, stop
from migration_pipeline.orchestration.rollback import build_abort_job
from migration_pipeline.orchestration.runs import (
    LAUNCHED_BY_TAG,
    MISMATCHED_KEYS_TAG,
    RECENT_RUNS,
    RETRIED_BY_TAG,
    RETRY_GRACE_SECONDS,
    STOP_REASON_TAG,
    STOPPED_AT_TAG,
    automation,
    sensor_tags,
    stop_tags,
)
from migration_pipeline.orchestration.sensors import (
    Cursor,
    build_sensor,
    fingerprint,
    launch_reason,
    tick,
)
from migration_pipeline.phases import (
    Approval,
    Assessment,
    Gate,
    MigrationFacts,
    ModuleFacts,
    ValidationRecord,
)
from migration_pipeline.terraform.state import TerraformState
from migration_pipeline.validation import TableReport, ValidationReport
from migration_pipeline.validation.report import KeyList
from migration_pipeline_tests.support.orchestration import shop_spec

JOB = "shop_move_job"


def make_job(outcome: dict) -> dg.JobDefinition:
    @dg.op
    def step():
        if outcome.get("fail"):
            raise RuntimeError("terraform said no")

    @dg.job(name=JOB)
    def job():
        step()

    return job


def cancel(instance: dg.DagsterInstance, job: dg.JobDefinition, tags: dict | None = None) -> str:
    """A run of `job` ended as a person's terminate ends it (CANCELED)."""
    run = instance.create_run_for_job(job, tags=tags)
    instance.report_run_canceling(run)
    instance.report_run_canceled(run)
    return run.run_id


def test_the_sensor_waits_for_a_persons_first_launch():
    outcome: dict = {}
    job = make_job(outcome)
    with dg.DagsterInstance.ephemeral() as instance:
        assert automation(instance, JOB).blocker == (
            f"no person has launched {JOB} yet: the sensor only carries on a migration a person "
            "started. Launch the job (Dagster UI, Launchpad) to start it."
        )
        job.execute_in_process(instance=instance, tags=sensor_tags())
        assert automation(instance, JOB).person_run is None  # its own runs do not count
        person = job.execute_in_process(instance=instance)
        standing = automation(instance, JOB)
        assert (standing.person_run, standing.blocker) == (person.run_id, None)
        job.execute_in_process(instance=instance, tags=sensor_tags())
        assert automation(instance, JOB).person_run == person.run_id


@pytest.mark.parametrize("by_sensor", [False, True])
def test_a_terminated_run_parks_the_sensor_until_a_person_launches_again(by_sensor):
    job = make_job({})
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(instance=instance)
        canceled = cancel(instance, job, sensor_tags() if by_sensor else None)
        who = "the sensor's" if by_sensor else "a person's"
        assert automation(instance, JOB).blocker == (
            f"a person stopped the migration: {who} run {canceled} of {JOB} was terminated. The "
            "sensor launches nothing until a person launches the job again."
        )
        job.execute_in_process(instance=instance, tags=sensor_tags())  # not a person: still parked
        assert automation(instance, JOB).blocker.startswith("a person stopped the migration")
        again = job.execute_in_process(instance=instance)
        assert automation(instance, JOB) == automation(instance, JOB, again.run_id)
        assert automation(instance, JOB).blocker is None


def test_a_failed_run_parks_the_sensor_until_a_person_launches_again():
    outcome = {"fail": True}
    job = make_job(outcome)
    with dg.DagsterInstance.ephemeral() as instance:
        failed = job.execute_in_process(instance=instance, raise_on_error=False)
        assert automation(instance, JOB).blocker == (
            f"a person's run {failed.run_id} of {JOB} failed: read its logs, fix the cause, then "
            "launch the job again (the sensor waits until a person does)."
        )
        outcome["fail"] = False
        job.execute_in_process(instance=instance)
        assert automation(instance, JOB).blocker is None


def crash(instance: dg.DagsterInstance, job: dg.JobDefinition, tags: dict | None = None) -> str:
    """A run of `job` whose worker died, as Dagster records it with run retries on: failed by the
    code server, then tagged to be retried by the daemon."""
    run = instance.create_run_for_job(job, tags=tags, status=dg.DagsterRunStatus.STARTED)
    instance.report_run_failed(run)
    instance.add_run_tags(run.run_id, {"dagster/will_retry": "true"})
    return run.run_id


@pytest.mark.parametrize("by_sensor", [False, True])
def test_a_crashed_run_dagster_retries_is_no_reason_to_park(by_sensor):
    job = make_job({})
    with dg.DagsterInstance.ephemeral() as instance:
        person = job.execute_in_process(instance=instance).run_id
        crashed = crash(instance, job, sensor_tags() if by_sensor else None)
        assert automation(instance, JOB).blocker == (
            f"run {crashed} of {JOB} crashed (its worker died); Dagster retries it"
        )
        instance.add_run_tags(crashed, {"dagster/auto_retry_run_id": "the-retry"})
        retry_tags = {**(sensor_tags() if by_sensor else {}), "dagster/retry_number": "1"}
        job.execute_in_process(instance=instance, tags=retry_tags)
        # The retry carries on the launch it came from: it is no person's launch of its own.
        assert automation(instance, JOB) == automation(instance, JOB, person)
        assert automation(instance, JOB).person_run == (person if by_sensor else crashed)
        assert automation(instance, JOB).blocker is None


def test_a_retry_that_fails_in_an_op_parks_the_sensor():
    outcome = {"fail": True}
    job = make_job(outcome)
    with dg.DagsterInstance.ephemeral() as instance:
        crashed = crash(instance, job)
        instance.add_run_tags(crashed, {"dagster/auto_retry_run_id": "the-retry"})
        retry = job.execute_in_process(
            instance=instance, tags={"dagster/retry_number": "1"}, raise_on_error=False
        )
        assert automation(instance, JOB).blocker == (
            f"Dagster's retry run {retry.run_id} of {JOB} failed: read its logs, fix the cause, "
            "then launch the job again (the sensor waits until a person does)."
        )


def test_an_active_run_blocks_the_sensor():
    job = make_job({})
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(instance=instance)
        started = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
        assert automation(instance, JOB).blocker == (
            f"run {started.run_id} of {JOB} is still in progress"
        )


def snapshot(
    validations: tuple[ValidationRecord, ...],
    approval: Approval | None = None,
    table_status: str = "streaming",
    gate: str = "catch_up",
) -> Snapshot:
    status = PipelineDetail(
        "p2", "v2", "r", "c", "running", tables=(TableStatus("orders", "public", table_status),)
    )
    facts = MigrationFacts(
        ModuleFacts(True, ("orders",), True, True, None),
        "r",
        "o",
        "n",
        status,
        validations,
        approval,
        datetime.now(UTC),
    )
    return Snapshot(
        facts,
        TerraformState(),
        Assessment("caught_up", None, "closed", (Gate(gate, False, "closed"),)),
    )


def record(n: int, verdict: str) -> ValidationRecord:
    return ValidationRecord(f"v-{n}", verdict, datetime.fromtimestamp(1.0e9 + n, UTC))


def test_only_a_change_the_gates_read_changes_the_fingerprint():
    first = snapshot((record(1, "clean"),))
    assert fingerprint(first) == fingerprint(snapshot((record(1, "clean"),)))
    changed = [
        snapshot((record(2, "clean"), record(1, "clean"))),
        snapshot((record(1, "clean"),), table_status="backfilling"),
        snapshot((record(1, "clean"),), Approval("ana", "approve", "v-1")),
    ]
    assert len({fingerprint(first), *map(fingerprint, changed)}) == 4


def test_a_lasting_mismatch_is_no_reason_to_validate_again_on_every_poll():
    unsure = snapshot((record(2, "inconclusive"), record(1, "clean")))
    assert launch_reason(unsure) == "the new pipeline streams every table: validate again"
    lasting = snapshot((record(3, "mismatch"), record(2, "inconclusive"), record(1, "clean")))
    assert launch_reason(lasting) is None
    longer = snapshot((record(4, "mismatch"), record(3, "mismatch"), record(2, "inconclusive")))
    assert fingerprint(lasting) == fingerprint(longer)


def test_the_cursor_survives_a_round_trip_and_an_unreadable_one_starts_afresh():
    cursor = Cursor("run-1", "abc")
    assert Cursor.load(cursor.dump()) == cursor
    assert Cursor.load(None) == Cursor() == Cursor.load("not json")


def test_a_run_that_stops_at_a_gate_says_where_and_why_in_its_tags():
    closed = snapshot((record(1, "clean"),), gate="approval")

    @dg.op(out={"proceed": dg.Out(is_required=False), "gate_closed": dg.Out(is_required=False)})
    def gate(context):
        yield from stop(context, closed, "Waiting for a person to approve the cutover.")

    @dg.job
    def job():
        gate()

    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        tags = instance.get_run_by_id(result.run_id).tags
    assert (tags[STOPPED_AT_TAG], tags[STOP_REASON_TAG]) == (
        "approval",
        "Waiting for a person to approve the cutover.",
    )
    assert LAUNCHED_BY_TAG not in tags


def test_a_mismatch_stop_names_the_first_keys_and_where_to_read_them_all(tmp_path):
    spec = shop_spec(tmp_path)
    now = datetime.now(UTC)
    table = TableReport(
        "orders",
        "orders",
        key_columns=("id",),
        missing_in_new=KeyList(((4,), (9,), (12,), (15,)), 7),
    )
    report = ValidationReport("old", "new", now, now, (table, TableReport("items", "items")))
    assert mismatch_reason(spec, report, "0 of 2 clean.") == (
        "0 of 2 clean. First mismatched keys: orders (id): 4; 9; 12 (of 7). Every key: the "
        "shop_move/validation_mismatches asset (and validation_report's metadata)."
    )
    assert stop_tags("catch_up", "0 of 2 clean.", first_keys(report)) == {
        STOPPED_AT_TAG: "catch_up",
        STOP_REASON_TAG: "0 of 2 clean.",
        MISMATCHED_KEYS_TAG: "orders (id): 4; 9; 12 (of 7)",
    }


def never_read() -> Snapshot:
    raise AssertionError("the sensor read the facts although a run blocks it")


def test_a_tick_reads_nothing_while_blocked_and_keeps_no_cursor_before_a_persons_launch():
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance)
        skipped = tick(context, JOB, never_read)
        assert skipped.skip_message.startswith(f"no person has launched {JOB} yet")
        assert context.cursor is None


def test_a_tick_launches_once_per_change_and_remembers_the_persons_run_and_the_facts():
    job = make_job({})
    due = snapshot((record(1, "inconclusive"),))
    with dg.DagsterInstance.ephemeral() as instance:
        person = job.execute_in_process(instance=instance).run_id
        context = dg.build_sensor_context(instance=instance)
        request = tick(context, JOB, lambda: due)
        seen = fingerprint(due)
        assert (request.run_key, request.tags) == (
            f"{person}:{seen}",
            {
                LAUNCHED_BY_TAG: "sensor",
                "migration/phase": "caught_up",
                "migration/reason": "the new pipeline streams every table: validate again",
            },
        )
        assert Cursor.load(context.cursor) == Cursor(person, seen)
        again = dg.build_sensor_context(instance=instance, cursor=context.cursor)
        assert tick(again, JOB, lambda: due).skip_message == (
            "caught_up: closed (nothing changed since the last launch)"
        )
        changed = snapshot((record(2, "inconclusive"), record(1, "inconclusive")))
        assert tick(again, JOB, lambda: changed).run_key == f"{person}:{fingerprint(changed)}"


def test_a_persons_new_launch_is_remembered_even_when_the_tick_skips():
    job = make_job({})
    waiting = snapshot((record(1, "clean"),), gate="approval")
    with dg.DagsterInstance.ephemeral() as instance:
        person = job.execute_in_process(instance=instance).run_id
        context = dg.build_sensor_context(instance=instance, cursor=Cursor("old", "abc").dump())
        assert tick(context, JOB, lambda: waiting).skip_message == "caught_up: closed"
        assert Cursor.load(context.cursor) == Cursor(person, "abc")


def test_a_tick_with_a_lasting_mismatch_says_what_launches_again():
    job = make_job({})
    lasting = snapshot((record(2, "mismatch"), record(1, "clean")))
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(instance=instance)
        context = dg.build_sensor_context(instance=instance)
        assert tick(context, JOB, lambda: lasting).skip_message == (
            "caught_up: closed A confirmed mismatch: the sensor launches again after the next "
            "validation (the validation schedule, or materialize validation_report), a decision "
            "or a change in Artie's status."
        )


def test_a_tick_for_an_allowed_step_names_the_step_in_the_runs_reason():
    job = make_job({})
    base = snapshot(())
    allowed = Snapshot(base.facts, base.state, Assessment("reader_shared", "create", "no v2"))
    with dg.DagsterInstance.ephemeral() as instance:
        job.execute_in_process(instance=instance)
        request = tick(dg.build_sensor_context(instance=instance), JOB, lambda: allowed)
        assert request.tags["migration/phase"] == "reader_shared"
        assert request.tags["migration/reason"] == "create is allowed: no v2"


def test_the_sensor_polls_the_specs_interval_and_starts_running(tmp_path):
    spec = shop_spec(tmp_path, gates={"poll_seconds": 45})
    sensor = build_sensor(spec, make_job({}))
    assert (sensor.name, sensor.job_name, sensor.minimum_interval_seconds) == (
        "shop_move_catch_up_sensor",
        JOB,
        45,
    )
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.description == (
        "Carries on shop_move after a person launched its job: launches it again when the new "
        "pipeline has caught up, when a validation is due, or when an approval opens the cutover, "
        "and only when one of those changed since its last launch. Launches nothing before a "
        "person's first launch, while a run is active, and after a run a person terminated or one "
        "that failed, until a person launches the job again (a run whose worker crashed is "
        "retried by Dagster, or by this sensor if Dagster has not within 60 s: not a "
        "failure). Its runs carry the tag "
        "migration/launched_by=sensor."
    )


def test_the_migrations_jobs_ask_dagster_to_retry_a_crashed_run_and_nothing_else(tmp_path):
    spec = shop_spec(tmp_path)
    retries = {
        "dagster/max_retries": "3",
        "dagster/retry_strategy": "ALL_STEPS",
        "dagster/retry_on_asset_or_op_failure": "false",
    }
    for job in (build_job(spec), build_abort_job(spec)):
        assert job.tags == {"migration": "shop_move", **retries}, job.name


def test_the_fingerprint_tells_apart_the_phase_the_next_step_artie_silent_and_the_decisions_time():
    base = snapshot((record(1, "clean"),))
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    variants = [
        base,
        replace(base, assessment=replace(base.assessment, phase="approved")),
        replace(base, assessment=replace(base.assessment, next_step="cutover")),
        replace(base, assessment=replace(base.assessment, next_step="unshare")),
        replace(base, facts=replace(base.facts, new_status=None)),
        snapshot((record(1, "clean"),), Approval("ana", "approve", "v-1", at=at)),
        snapshot((record(1, "clean"),), Approval("ana", "approve", "v-1", at=at.replace(hour=13))),
    ]
    assert len({fingerprint(s) for s in variants}) == len(variants)


def test_a_stale_approval_is_a_reason_to_validate_again():
    stale = snapshot((record(1, "clean"),), gate="fresh_validation")
    assert launch_reason(stale) == "approved, but the latest validation is too old: validate again"


def test_a_persons_launch_older_than_the_recent_runs_is_still_known_from_the_cursor():
    job = make_job({})
    due = snapshot((record(1, "inconclusive"),))
    with dg.DagsterInstance.ephemeral() as instance:
        person = job.execute_in_process(instance=instance).run_id
        for _ in range(RECENT_RUNS):
            instance.create_run_for_job(job, tags=sensor_tags(), status=dg.DagsterRunStatus.SUCCESS)
        context = dg.build_sensor_context(instance=instance, cursor=Cursor(person, None).dump())
        assert tick(context, JOB, lambda: due).run_key == f"{person}:{fingerprint(due)}"


def test_a_retry_dagster_misses_is_launched_by_the_sensor_once():
    # Dagster's retry daemon once never retried a crashed run: waiting on it would park the
    # migration with nobody having decided anything.
    job = make_job({})
    with dg.DagsterInstance.ephemeral() as instance:
        person = job.execute_in_process(instance=instance).run_id
        crashed = crash(instance, job, sensor_tags())
        failed_at = instance.get_run_record_by_id(crashed).end_time
        waiting = f"run {crashed} of {JOB} crashed (its worker died); Dagster retries it"
        assert automation(instance, JOB, now=failed_at + RETRY_GRACE_SECONDS - 1).blocker == waiting
        overdue = automation(instance, JOB, now=failed_at + RETRY_GRACE_SECONDS)
        assert (overdue.blocker, overdue.missed_retry, overdue.person_run) == (
            None,
            crashed,
            person,
        )
        # The grace is the spec's gates.retry_grace_seconds: 60 s unless shortened.
        context = dg.build_sensor_context(instance=instance)
        assert isinstance(tick(context, JOB, never_read), dg.SkipReason)
        request = tick(context, JOB, never_read, grace=1e-6)
        assert (request.run_key, request.tags) == (
            f"retry-of:{crashed}",
            {
                LAUNCHED_BY_TAG: "sensor",
                "migration/reason": f"Dagster did not retry crashed run {crashed} within 1e-06 s: "
                "launched in its place",
            },
        )
        assert instance.get_run_by_id(crashed).tags[RETRIED_BY_TAG] == "sensor"
        # Taken over: the crash is waited for no longer, and it is still no failure to park on.
        assert automation(instance, JOB) == automation(instance, JOB, person)
        assert automation(instance, JOB).blocker is None
        assert automation(instance, JOB).missed_retry is None
