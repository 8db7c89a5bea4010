"""`python -m sandbox_demo.ui` serves the Dagster UI on the sandbox and stops on SIGTERM
even when started in the background from a non-interactive shell."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from artie_sandbox.lifecycle import SERVICES, Sandbox


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def jobs(port: int) -> list[str]:
    """The job names the web server's code location offers (GraphQL)."""
    query = "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } } } } }"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        nodes = json.loads(response.read())["data"]["repositoriesOrError"]["nodes"]
    return [j["name"] for n in nodes for j in n["jobs"]]


def group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False


@pytest.mark.timeout(240)
def test_the_ui_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARTIE_", "DAGSTER_"))}
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115 - closed below
    # Backgrounded with SIGINT/SIGTERM ignored, as a non-interactive shell leaves them.
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox_demo.ui",
            "--state",
            str(tmp_path / "state"),
            "--port",
            str(port),
            "--rows",
            "500",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
        preexec_fn=lambda: (
            signal.signal(signal.SIGTERM, signal.SIG_IGN),
            signal.signal(signal.SIGINT, signal.SIG_IGN),
        ),
    )
    try:
        deadline = time.monotonic() + 150
        while not answers(f"http://127.0.0.1:{port}/server_info"):
            assert proc.poll() is None, (tmp_path / "ui.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "ui.log").read_text()
            time.sleep(1)
        assert "analytics_v1_to_v2_job" in jobs(port), (tmp_path / "ui.log").read_text()
        proc.send_signal(signal.SIGTERM)
        # dagster dev turns SIGTERM into its Ctrl-C path: services stopped, then exit 0.
        assert proc.wait(30) == 0, (tmp_path / "ui.log").read_text()
        assert not answers(f"http://127.0.0.1:{port}/server_info")
        assert group_gone(proc.pid, 15), "dagster dev left processes behind"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        sandbox = Sandbox(tmp_path / "state" / "sandbox")
        sandbox.down()
        assert all(sandbox.running(s) is None for s in SERVICES)
    assert (tmp_path / "state" / "dagster" / "dagster.yaml").exists()
