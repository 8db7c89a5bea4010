"""Race staging: wait until threads of this process are all stopped at one line (requests queued
behind a lock the test holds), so the test releases them together knowing the race is set up."""

from __future__ import annotations

import linecache
import sys
import time


def threads_at(function, line: str) -> int:
    """How many threads are executing the line of `function` that contains `line` right now
    (the innermost Python frame: a C call on that line, such as a lock wait, is in progress)."""
    code = getattr(function, "__wrapped__", function).__code__
    return sum(
        1
        for frame in sys._current_frames().values()
        if frame.f_code is code and line in linecache.getline(code.co_filename, frame.f_lineno)
    )


def wait_until_blocked(count: int, function, line: str, timeout: float = 30) -> None:
    """Returns once `count` threads are at `line` of `function`; fails after `timeout` seconds
    (the race was never set up, so the test would prove nothing)."""
    code = getattr(function, "__wrapped__", function).__code__
    assert any(line in text for text in linecache.getlines(code.co_filename)), line
    deadline = time.monotonic() + timeout
    while (waiting := threads_at(function, line)) < count:
        assert time.monotonic() < deadline, (
            f"only {waiting} of {count} threads reached {code.co_name}: {line}"
        )
        time.sleep(0.01)
