"""A sandbox left up at rest must not burn CPU, yet must replicate the next change within 3 s."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import duckdb

from artie_sandbox.lifecycle import SERVICES, Sandbox
from artie_sandbox.source.seed import connect, create_source

ENGINE = next(s for s in SERVICES if s.name == "engine")
IDLE_SECONDS = 60
# The engine's stated wake-up latency at rest: it polls for commits every 1 s (idle_poll), then
# one round reads the change and applies it; 3 s leaves room for a loaded 2-core machine.
WAKE_UP_SECONDS = 3.0


def _api(sandbox: Sandbox, method: str, path: str, body: dict | None = None):
    request = urllib.request.Request(
        f"{sandbox.endpoint()}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {sandbox.api_key()}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
        return json.loads(raw) if raw else None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid`, from /proc/<pid>/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rows(path: Path, sql: str, args: tuple) -> list:
    """Query the destination read-only, retrying while the engine holds it for a batch."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                return con.execute(sql, args).fetchall()
        except (duckdb.IOException, duckdb.CatalogException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def test_an_idle_engine_sleeps_and_wakes_up_for_the_next_change(tmp_path):
    sandbox = Sandbox(tmp_path / "sandbox")
    sandbox.init()
    sandbox.up()
    try:
        source = sandbox.state_dir / "source.db"
        create_source(source, rows=2000, seed=5)
        src = _api(
            sandbox,
            "POST",
            "/connectors",
            {"type": "sqlite", "label": "shop", "sharedConfig": {"path": str(source)}},
        )
        dst = _api(
            sandbox,
            "POST",
            "/connectors",
            {"type": "duckdb", "label": "dw", "sharedConfig": {"directory": str(tmp_path / "dw")}},
        )
        reader = _api(
            sandbox,
            "POST",
            "/source-readers",
            {"name": "shop", "connectorUUID": src["uuid"], "database": "shop", "isShared": False},
        )
        pipeline = _api(
            sandbox,
            "POST",
            "/pipelines",
            {
                "pipeline": {
                    "name": "v1",
                    "sourceReaderUUID": reader["uuid"],
                    "destinationUUID": dst["uuid"],
                    "specificDestCfg": {"database": "v1", "schema": "main"},
                    "tables": [{"name": "customers", "schema": "main"}],
                }
            },
        )
        _api(sandbox, "POST", f"/pipelines/{pipeline['uuid']}/start")
        destination = tmp_path / "dw" / "v1.duckdb"
        _wait(
            lambda: (
                destination.exists()
                and _rows(destination, "SELECT count(*) FROM customers", ())[0][0] > 0
            ),
            60,
            "the backfill",
        )
        _wait(
            lambda: (
                _api(sandbox, "GET", f"/pipelines/{pipeline['uuid']}")["tables"][0]["status"]
                == "streaming"
            ),
            60,
            "the pipeline to stream",
        )

        pid = sandbox.running(ENGINE)
        before = _cpu_seconds(pid)
        time.sleep(IDLE_SECONDS)  # the measured period itself, not a wait for something to happen
        used = _cpu_seconds(pid) - before
        assert used < 1.0, f"the idle engine used {used:.2f} s of CPU in {IDLE_SECONDS} s"

        conn = connect(source)
        conn.execute(
            "UPDATE customers SET name = 'woken up' WHERE id = (SELECT min(id) FROM customers)"
        )
        conn.close()
        changed = time.monotonic()
        _wait(
            lambda: (
                _rows(destination, "SELECT count(*) FROM customers WHERE name = ?", ("woken up",))[
                    0
                ][0]
                == 1
            ),
            WAKE_UP_SECONDS,
            "the change at the destination",
        )
        print(
            f"idle CPU {used:.3f} s in {IDLE_SECONDS} s; change landed in "
            f"{time.monotonic() - changed:.2f} s"
        )
    finally:
        sandbox.down()
