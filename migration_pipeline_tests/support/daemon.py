"""What the tests through the real Dagster daemon share: waiting for a condition, the pipelines
Artie holds and the module's diff from the example."""

from __future__ import annotations

import difflib
import time
from pathlib import Path

import yaml

from migration_pipeline.artie.client import ArtieClient
from sandbox_demo.prepare import Prepared

# The module's expected diff from the example after a whole migration (both daemon tests).
EXPECTED_DIFF = Path(__file__).parent.parent / "e2e" / "orchestration" / "expected_module.diff"


def set_gates(config: Path, migration: str, **gates) -> None:
    """Change `gates` settings of `migration` in the migrations file (before Dagster loads it)."""
    spec = yaml.safe_load(config.read_text())
    spec["migrations"][migration]["gates"].update(gates)
    config.write_text(yaml.safe_dump(spec))


FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def finished_runs(deployment, job: str | None = None, timeout: float = 60) -> list:
    """Every run (of `job`) once none is queued or running any more: the migration reads as
    `complete` before the run that completed it has ended."""
    return wait_for(
        "every run to end",
        lambda: (runs := deployment.runs(job)) and all(r.status in FINISHED for r in runs) and runs,
        timeout,
    )


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    """`check()`'s first truthy answer, asked every `every` s; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def pipelines(prepared: Prepared) -> list[str]:
    """The names of every pipeline Artie (the sandbox) holds, sorted."""
    with ArtieClient(prepared.sandbox.endpoint(), prepared.env["ARTIE_API_KEY"]) as client:
        return sorted(p.name for p in client.list_pipelines())


def module_diff(before: Path, after: Path) -> str:
    """The unified diff of every .tf file of `after` against `before`."""
    return "".join(
        "".join(
            difflib.unified_diff(
                (before / name).read_text().splitlines(True) if (before / name).exists() else [],
                (after / name).read_text().splitlines(True),
                f"a/{name}",
                f"b/{name}",
            )
        )
        for name in sorted(p.name for p in after.glob("*.tf"))
    )
