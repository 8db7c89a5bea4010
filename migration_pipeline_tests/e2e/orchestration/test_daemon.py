"""The migration through the real Dagster path (dagster dev: web server, daemon, run queue, pools,
the daemon's sensor ticks, the shipped dagster.yaml), driven over GraphQL as the UI drives it: a
reader shared before anyone launched starts nothing; one launch and one approval carry it to the
cutover; a person terminating the cutover run parks everything (the old pipeline kept, `status`
says who stopped it) until that person launches again, which completes it. That launch's worker
is killed mid-unshare while Dagster's retry daemon is idle: the run fails with `will_retry` and
no retry comes (as once seen in CI), and the sensor launches the job in its place once the spec's
`retry_grace_seconds` have passed."""

from __future__ import annotations

import json
import shutil
import statistics
import threading
import time
from itertools import pairwise
from pathlib import Path

import dagster as dg
import httpx
import pytest

from artie_sandbox.source.workload import Workload
from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.cli import main
from migration_pipeline.orchestration.event_metadata import validation_key
from migration_pipeline.orchestration.runs import (
    LAUNCHED_BY_TAG,
    RETRIED_BY_TAG,
    RETRY_NUMBER_TAG,
    STOP_REASON_TAG,
    STOPPED_AT_TAG,
    WILL_RETRY_TAG,
    job_name,
)
from migration_pipeline.phases import Step
from migration_pipeline.spec import load_spec
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.steps import run_step
from migration_pipeline_tests.support.crash import HoldingProxy, files_holding, kill_when_accepted
from migration_pipeline_tests.support.daemon import (
    EXPECTED_DIFF,
    FINISHED,
    finished_runs,
    module_diff,
    pipelines,
    set_gates,
    wait_for,
)
from migration_pipeline_tests.support.demo import prepared_demo
from sandbox_demo.deployment import ASSET_JOB, Deployment
from sandbox_demo.prepare import EXAMPLE_MODULE, MIGRATION
from sandbox_demo.watch import Watch

SENSOR = f"{MIGRATION}_catch_up_sensor"
READER = r"^/source-readers/(?!validate)[^/]+$"
ROWS = 2000


@pytest.fixture
def prepared(tmp_path, monkeypatch):
    with prepared_demo(tmp_path, monkeypatch, ROWS) as ready:
        # One clean validation opens the approval gate (the streak rule is the phases' own, tested
        # without Dagster): each validation is one more run, about 25 s on a loaded machine.
        # A crash Dagster leaves unretried is launched by the sensor after 1 s, not 60 s.
        set_gates(ready.config, MIGRATION, clean_validations=1, retry_grace_seconds=1)
        yield ready


class RunningWorkload(threading.Thread):
    """Inserts, updates and deletes on the source at a steady rate until stopped."""

    def __init__(self, source: Path, rate: float):
        super().__init__(daemon=True)
        self.source, self.rate, self.stop = source, rate, threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        workload = Workload(self.source, seed=3)
        try:
            workload.run(self.rate, stop=self.stop)
        except BaseException as e:  # surfaced by the test
            self.error = e
        finally:
            workload.close()


@pytest.mark.timeout(720)
def test_only_a_person_starts_or_resumes_the_migration_through_the_daemon(
    prepared, tmp_path, capsys
):
    spec = load_spec(prepared.config, MIGRATION)
    job = job_name(spec)
    # The product's promote shares the reader while dagster dev starts (they do not meet: no
    # person has launched anything, so the sensor only looks at the runs list).
    shared_at: list[float] = []

    def share_reader() -> None:
        with ArtieClient(spec.artie.api_url, prepared.env["ARTIE_API_KEY"]) as client:
            run_step(Step.PROMOTE, spec, TerraformRunner.for_spec(spec.terraform), client)
        shared_at.append(time.time())

    promoter = threading.Thread(target=share_reader, daemon=True)
    promoter.start()
    workload = RunningWorkload(prepared.source_db, rate=10)
    workload.start()
    # Terraform reaches Artie through a proxy that holds the cutover's DELETE once armed (it never
    # reaches the sandbox); the sensor and the ops' API client go straight to the sandbox.
    proxy = HoldingProxy(
        prepared.sandbox.endpoint(), "DELETE", r"^/pipelines/[^/]+$", before=True, armed=False
    )
    started = time.monotonic()
    with (
        proxy,
        Deployment(
            {
                **prepared.env,
                "ARTIE_ENDPOINT": proxy.url,
                # Dagster's retry daemon reads new failures once as it starts, then not for an
                # hour: a crash here is tagged `will_retry` and its retry never comes.
                "DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS": "3600",
            },
            tmp_path / "dagster-dev.log",
        ) as deployment,
        dg.DagsterInstance.get() as instance,
        httpx.Client(
            base_url=prepared.sandbox.endpoint(),
            timeout=10,
            headers={"Authorization": f"Bearer {prepared.env['ARTIE_API_KEY']}"},
        ) as control,
    ):
        up = time.monotonic() - started
        promoter.join(120)
        assert shared_at, "the product's promote did not finish"
        watch = Watch(deployment, spec, instance)
        # The reader is already shared: the sensor still launches nothing before a person does.
        idle = deployment.wait_for_ticks(SENSOR, 3, shared_at[0], timeout=60)
        assert deployment.runs() == []
        assert {t.status for t in idle} == {"SKIPPED"}, idle
        assert all(t.skip_reason.startswith(f"no person has launched {job} yet") for t in idle)

        # The new pipeline backfills slowly until the person's run has stopped at catch-up (it
        # would otherwise race the run's own validation): the sensor must carry it on from there.
        slow = control.post(
            "/sandbox/faults", json={"kind": "slow_backfill", "rows_per_second": 20}
        )
        assert slow.status_code == 201, slow.text
        first = deployment.launch_job(job)
        slowed = True
        while not proxy.accepted.is_set():
            assert time.monotonic() - started < 420, f"no cutover; {watch.progress()}"
            (run,) = [r for r in deployment.runs(job) if r.run_id == first]
            if slowed and run.status in FINISHED:
                assert run.tags[STOPPED_AT_TAG] == "catch_up", run
                control.delete("/sandbox/faults", params={"kind": "slow_backfill"})
                slowed = False
            status = watch.status()
            assert status["phase"] not in ("complete", "aborted"), status
            if watch.approve_when_asked(status, "e2e", "clean validations in a row"):
                proxy.armed.set()
            time.sleep(1)
        to_cutover = time.monotonic() - started
        # The sensor's cutover run is inside `terraform apply`; Artie has not seen the DELETE.
        (cutover,) = [r for r in deployment.runs(job) if r.status == "STARTED"]
        assert cutover.tags[LAUNCHED_BY_TAG] == "sensor"
        deployment.terminate(cutover.run_id)
        wait_for("the terminated run", lambda: deployment.runs(job)[0].status == "CANCELED", 60)
        proxy.release.set()
        canceled_at = time.time()
        # What the person reads while the sensor ticks (the ticks are checked after it).
        capsys.readouterr()
        assert (
            main(["status", "--config", str(prepared.config), "--migration", MIGRATION, "--json"])
            == 0
        )
        status = json.loads(capsys.readouterr().out)
        assert not status["sensor"]["may_launch"]
        assert status["sensor"]["reason"] == (
            f"a person stopped the migration: the sensor's run {cutover.run_id} of {job} was "
            "terminated. The sensor launches nothing until a person launches the job again."
        )
        assert pipelines(prepared) == ["analytics_v1", "analytics_v2"]
        parked = deployment.wait_for_ticks(SENSOR, 3, canceled_at, timeout=60)
        assert [r.run_id for r in deployment.runs(job)][0] == cutover.run_id  # nothing since
        assert all("a person stopped the migration" in t.skip_reason for t in parked), parked
        assert pipelines(prepared) == ["analytics_v1", "analytics_v2"]

        # The person's launch, its worker killed while unshare's update of the reader is held
        # before Artie; nobody decides anything, and the sensor launches the job in its place.
        proxy.rearm("POST", READER)
        resumed = deployment.launch_job(job)
        assert kill_when_accepted(proxy, deployment.process.pid, worker=True).worker is not None
        proxy.rearm("NONE", r"^$")  # the held request is answered 503 to the dead worker
        wait_for("complete", lambda: watch.status()["phase"] == "complete", 120, every=2)
        assert watch.status()["sensor"] == {
            "may_launch": False,
            "reason": "nothing left to launch: the migration is complete",
        }
        ticks = deployment.ticks(SENSOR)
        runs = finished_runs(deployment)
    total = time.monotonic() - started
    workload.stop.set()
    workload.join(10)
    assert workload.error is None

    by_person = [r.run_id for r in runs if r.job == job and LAUNCHED_BY_TAG not in r.tags]
    assert sorted(by_person) == sorted([first, resumed])
    (crashed,) = [r for r in runs if r.status == "FAILURE"]
    assert crashed.run_id == resumed
    assert (crashed.tags[WILL_RETRY_TAG], crashed.tags[RETRIED_BY_TAG]) == ("true", "sensor")
    assert "dagster/auto_retry_run_id" not in crashed.tags
    assert not [r for r in runs if RETRY_NUMBER_TAG in r.tags]  # Dagster retried nothing
    (in_place,) = [r for r in runs if r.tags.get("dagster/run_key") == f"retry-of:{resumed}"]
    assert (in_place.status, in_place.tags[LAUNCHED_BY_TAG], in_place.tags["migration/reason"]) == (
        "SUCCESS",
        "sensor",
        f"Dagster did not retry crashed run {resumed} within 1 s: launched in its place",
    )
    # Approved exactly once: no validation after it (inconclusive or not) voided the approval.
    assert len(watch.approval_runs) == 1
    assert {r.run_id for r in runs if r.job == ASSET_JOB} == set(watch.approval_runs)
    ended = [r for r in runs if r.run_id not in (cutover.run_id, resumed)]
    assert all(r.status == "SUCCESS" for r in ended), runs
    # One run per migration whatever launched it: the pool kept the approval runs (asset job)
    # and the job's runs apart in time.
    spans = sorted((r.start, r.end) for r in runs if r.start is not None)
    assert all(end <= later for (_, end), (later, _) in pairwise(spans)), spans
    stops = {r.tags.get(STOPPED_AT_TAG) for r in runs if r.job == job}
    assert {"catch_up", "approval"} <= stops, runs
    assert all(r.tags[STOP_REASON_TAG] for r in runs if STOPPED_AT_TAG in r.tags)
    for check in ("row_counts_match", "content_matches", "schemas_match"):
        record = instance_check(prepared, spec, check)
        assert record.event.asset_check_evaluation.passed, check
    assert pipelines(prepared) == ["analytics_v2"]
    original = tmp_path / "original"
    shutil.copytree(EXAMPLE_MODULE, original, ignore=shutil.ignore_patterns(".terraform*"))
    assert module_diff(original, prepared.module) == EXPECTED_DIFF.read_text()
    assert not files_holding(prepared.module, prepared.env["ARTIE_API_KEY"])
    durations = [t.ended - t.started for t in ticks if t.ended and t.status == "SKIPPED"]
    print(
        f"\ndagster dev up in {up:.0f} s; launch to cutover {to_cutover - up:.0f} s; whole "
        f"test {total:.0f} s; {len(ticks)} sensor ticks, median "
        f"{statistics.median(durations):.2f} s, max {max(durations):.2f} s; the crash to the "
        f"end of the sensor's run in its place {in_place.end - crashed.end:.0f} s"
    )
    assert statistics.median(durations) < 5


def instance_check(prepared, spec, check: str):
    with dg.DagsterInstance.get() as instance:
        return instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(validation_key(spec), check)
        )
