"""The sandbox engine as tests drive it: a child process stopped by its pid, progress reads and
waits with a deadline, and one comparable form for source and destination values."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from artie_sandbox.models import PipelineProgress
from artie_sandbox.source.schema import DEMO_TABLES
from artie_sandbox.store import Store

KINDS = {t.name: {c.name: c.kind for c in t.columns} for t in DEMO_TABLES}


def canon(kind: str, value):
    """One comparable form for a source (SQLite / JSON) or destination (DuckDB) value."""
    if value is None:
        return None
    if kind == "decimal":
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if kind == "timestamp":
        return value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if kind == "boolean":
        return bool(value)
    if kind == "double":
        return float(value)
    return value


class EngineProcess:
    """`python -m artie_sandbox.engine` as a child process, stopped by its pid."""

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.state_dir / f"engine-{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "artie_sandbox.engine", "--state-dir", str(self.state_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.state_dir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()
        assert self.proc.returncode in (0, -signal.SIGKILL), self.logs()

    def logs(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.state_dir.glob("engine-*.log")))


def progress(store: Store, uuid: str) -> PipelineProgress | None:
    return store.read().get(PipelineProgress, uuid)


def wait_for(condition, timeout: float, what: str, engine: EngineProcess):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert engine.proc.poll() is None, f"engine exited:\n{engine.logs()}"
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{engine.logs()[-3000:]}")


def streaming(store: Store, uuid: str) -> bool:
    p = progress(store, uuid)
    return bool(p and p.extra.get("phase") == "streaming")


def drained(store: Store, uuids: list[str], since: str) -> bool:
    reports = [progress(store, u) for u in uuids]
    return all(
        r
        and r.updated_at > since
        and r.extra.get("phase") == "streaming"
        and r.offset == r.log_end
        and r.extra["reader"]["source_position"] == r.extra["source_head"]
        for r in reports
    )
