"""The resting engine's sleep: a pipeline deferred in a round (a backfill batch waits
`pipeline_gap` before the next) wakes it as soon as the deferral ends, even when the round
outlasted it, instead of leaving a backfill stuck until the next `idle_refresh`; a deferral from an
earlier round never keeps it awake."""

from __future__ import annotations

import threading
import time

from artie_sandbox.engine.engine import Engine
from artie_sandbox.store import Store


def _resting_engine(tmp_path, idle_refresh: float) -> tuple[Engine, tuple]:
    """An engine over an empty control plane after a round that moved nothing, and the
    fingerprint it saw before that round."""
    engine = Engine(tmp_path, Store(tmp_path / "control-plane.db"), idle_refresh=idle_refresh)
    seen = engine.fingerprint()
    assert not engine.run_once()
    return engine, seen


def test_a_deferral_that_ended_while_the_round_finished_wakes_the_engine_at_once(tmp_path):
    engine, seen = _resting_engine(tmp_path, idle_refresh=20)
    engine._not_before["pipeline"] = time.monotonic()  # deferred in the round, due already
    started = time.monotonic()
    engine.sleep(threading.Event(), seen)
    assert time.monotonic() - started < 5


def test_a_deferral_from_an_earlier_round_does_not_keep_the_engine_awake(tmp_path):
    engine = Engine(tmp_path, Store(tmp_path / "control-plane.db"), idle_refresh=0.6)
    engine._not_before["pipeline"] = time.monotonic()  # due before the next round started
    seen = engine.fingerprint()
    assert not engine.run_once()
    started = time.monotonic()
    engine.sleep(threading.Event(), seen)
    assert time.monotonic() - started >= 0.5
