"""`python -m sandbox_demo.prepare` (what `make sandbox` runs, and the start of `make demo`) applies the example once and is a no-op the second time."""

from __future__ import annotations

import os
import subprocess
import sys

from artie_sandbox.lifecycle import SERVICES, Sandbox


def demo(state) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARTIE_", "TF_"))}
    return subprocess.run(
        [sys.executable, "-m", "sandbox_demo.prepare", "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_demo_applies_the_example_then_changes_nothing(tmp_path):
    state = tmp_path / "state"
    sandbox = Sandbox(state / "sandbox")
    try:
        first = demo(state)
        assert first.returncode == 0, first.stdout + first.stderr
        assert f"Copied the example module to {state / 'terraform'}" in first.stdout
        assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in first.stdout
        assert (state / "sandbox" / "source.db").exists()
        assert "Pipelines (1)" in first.stdout and "\nanalytics_v1  shop " in first.stdout

        (state / "terraform" / "main.tf").write_text(
            (state / "terraform" / "main.tf").read_text() + "\n# the operator's note\n"
        )
        second = demo(state)

        assert second.returncode == 0, second.stdout + second.stderr
        assert "Copied the example module" not in second.stdout
        assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in second.stdout
        assert (state / "terraform" / "main.tf").read_text().endswith("# the operator's note\n")
    finally:
        sandbox.down()
    assert all(sandbox.running(s) is None for s in SERVICES)
