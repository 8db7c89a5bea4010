"""A real Dagster deployment on the prepared sandbox, driven as a person drives it from the UI.

`dagster dev` (web server, daemon and code server) with the prepared DAGSTER_HOME (the shipped
dagster.yaml) on a free loopback port; everything a person does goes over the web server's GraphQL
API exactly as the UI sends it (`launchRun` of the job, `launchRun` of the approval asset with its
config, `terminateRun`), and the daemon does the rest: the run queue, the pools, the catch-up
sensor, run monitoring. Used by `make demo` and the daemon end-to-end tests.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sandbox_demo.prepare import ROOT

ASSET_JOB = "__ASSET_JOB"

LAUNCH = """mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
TERMINATE = """mutation Terminate($runId: String!) {
  terminateRun(runId: $runId) {
    __typename
    ... on TerminateRunFailure { message }
    ... on PythonError { message }
  }
}"""
RUNS = """query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId jobName status startTime endTime tags { key value } } }
  }
}"""
TICKS = """query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 200) {
      status timestamp endTimestamp skipReason runIds error { message } } } }
  }
}"""
REPOSITORIES = """{ repositoriesOrError { __typename
  ... on RepositoryConnection { nodes { name location { name } jobs { name } } } } }"""


class DeploymentError(Exception):
    """The deployment did not start, or refused what was asked; the message says why."""


@dataclass(frozen=True)
class Run:
    """A run as the runs list shows it."""

    run_id: str
    job: str
    status: str
    tags: dict[str, str]
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Tick:
    """One evaluation of a sensor by the daemon (timestamps in seconds)."""

    status: str
    started: float
    ended: float | None
    skip_reason: str | None
    run_ids: tuple[str, ...]
    error: str | None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def default_signals() -> None:
    """Reset SIGINT/SIGTERM to their defaults (call before starting `dagster dev`).

    A background process of a non-interactive shell starts with them ignored, and `dagster dev`
    keeps them so: without the reset, Ctrl-C or `kill <pid>` never stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def dagster_command(port: int) -> list[str]:
    """`dagster dev` on the repository's workspace.yaml, on 127.0.0.1:port."""
    dagster = Path(sys.executable).parent / "dagster"
    return [
        str(dagster),
        "dev",
        "-w",
        str(ROOT / "workspace.yaml"),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]


class Deployment:
    """`dagster dev -w workspace.yaml` in its own process group, stopped by its pid."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None):
        self.env, self.log_path = dict(env), log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.location = self.repository = ""

    def start(self, timeout: float = 120) -> Deployment:
        """Start it and return once the code location answers (its jobs are listed)."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                dagster_command(self.port),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=default_signals,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise DeploymentError(
                    f"dagster dev exited ({self.process.returncode}); see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DeploymentError(
                    f"dagster dev did not answer within {timeout:.0f} s; see {self.log_path}"
                )
            try:
                data = self.graphql(REPOSITORIES, timeout=10)["repositoriesOrError"]
            except (OSError, DeploymentError):
                time.sleep(1)
                continue
            nodes = data.get("nodes") or []
            if nodes and nodes[0]["jobs"]:
                self.location, self.repository = nodes[0]["location"]["name"], nodes[0]["name"]
                return self
            time.sleep(1)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to dagster dev (it stops its web server, daemon and code server); SIGKILL to
        its process group if anything is left after `timeout`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group (start_new_session)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise DeploymentError(f"GraphQL refused the request: {answer['errors']}")
        return answer["data"]

    def _selector(self, **extra) -> dict:
        return {"repositoryLocationName": self.location, "repositoryName": self.repository, **extra}

    def _launch(self, params: dict) -> str:
        result = self.graphql(LAUNCH, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DeploymentError(f"launchRun: {result}")
        return result["run"]["runId"]

    def launch_job(self, job: str, run_config: dict | None = None) -> str:
        """Launch `job` as the Launchpad does (its config, if any; no extra tags); returns the
        run id."""
        return self._launch(
            {
                "selector": self._selector(jobName=job),
                "runConfigData": run_config or {},
                "mode": "default",
                "executionMetadata": {"tags": []},
            }
        )

    def materialize(self, asset: list[str], run_config: dict) -> str:
        """Materialize one asset with config, as the UI's "Materialize" with the launchpad does."""
        return self._launch(
            {
                "selector": self._selector(
                    jobName=ASSET_JOB, assetSelection=[{"path": asset}], assetCheckSelection=[]
                ),
                "runConfigData": run_config,
                "mode": "default",
                "executionMetadata": {"tags": []},
            }
        )

    def terminate(self, run_id: str) -> None:
        """Terminate a run as the UI's "Terminate" button does."""
        result = self.graphql(TERMINATE, {"runId": run_id})["terminateRun"]
        if result["__typename"] != "TerminateRunSuccess":
            raise DeploymentError(f"terminateRun: {result}")

    def runs(self, job: str | None = None) -> list[Run]:
        """Runs newest first (of `job` only when given)."""
        variables = {"filter": {"pipelineName": job}} if job else {}
        found = self.graphql(RUNS, variables)["runsOrError"]["results"]
        return [
            Run(
                r["runId"],
                r["jobName"],
                r["status"],
                {t["key"]: t["value"] for t in r["tags"]},
                r["startTime"],
                r["endTime"],
            )
            for r in found
        ]

    def ticks(self, sensor: str) -> list[Tick]:
        """The sensor's ticks, newest first."""
        data = self.graphql(TICKS, {"selector": self._selector(sensorName=sensor)})
        state = data["sensorOrError"].get("sensorState") or {}
        return [
            Tick(
                t["status"],
                t["timestamp"],
                t["endTimestamp"],
                t["skipReason"],
                tuple(t["runIds"]),
                (t["error"] or {}).get("message"),
            )
            for t in state.get("ticks") or ()
        ]

    def wait_for_ticks(self, sensor: str, count: int, after: float, timeout: float) -> list[Tick]:
        """Wait until the daemon evaluated `sensor` `count` times after `after` (epoch s)."""
        deadline = time.monotonic() + timeout
        while True:
            ticks = [t for t in self.ticks(sensor) if t.started > after and t.ended]
            if len(ticks) >= count:
                return ticks
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"{sensor} ticked {len(ticks)} of {count} times within "
                    f"{timeout:.0f} s; see {self.log_path}"
                )
            time.sleep(1)
