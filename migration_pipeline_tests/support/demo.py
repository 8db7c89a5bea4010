"""The sandbox prepared as `make demo` and `make ui` prepare it, for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from artie_sandbox.lifecycle import SERVICES, Sandbox
from migration_pipeline.terraform.binary import find_terraform
from sandbox_demo.prepare import Prepared, prepare


@contextmanager
def prepared_demo(tmp_path: Path, monkeypatch, rows: int = 300) -> Iterator[Prepared]:
    """The example module applied on a sandbox under tmp_path/state, its environment (DAGSTER_HOME,
    MIGRATIONS_FILE, the Artie variables) set for the test; the sandbox is stopped afterwards and
    checked to have left no process behind."""
    ready = prepare(
        tmp_path / "state", find_terraform(), rows, say=lambda line: None, poll_seconds=1
    )
    for key, value in ready.env.items():
        monkeypatch.setenv(key, value)
    try:
        yield ready
    finally:
        sandbox = Sandbox(ready.sandbox.state_dir)
        sandbox.down()
        assert all(sandbox.running(s) is None for s in SERVICES)
