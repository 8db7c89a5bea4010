"""Race staging: wait until every racer is stopped behind a lock the test holds (threads of this
process at one line, or processes blocked in flock()), so the test releases them together knowing
the race is set up."""

from __future__ import annotations

import linecache
import sys
import time
from pathlib import Path


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


def flock_waiters(path: Path) -> int:
    """How many processes are blocked in flock() on `path` right now (the `->` lines of
    /proc/locks for its inode)."""
    inode = path.stat().st_ino
    waiting = 0
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 6 and fields[1] == "->" and fields[2] == "FLOCK":
            waiting += int(fields[6].rsplit(":", 1)[1]) == inode
    return waiting


def wait_until_flock_waiters(path: Path, count: int, timeout: float = 60) -> None:
    """Returns once `count` processes wait for the flock on `path` the test holds; fails after
    `timeout` seconds (the race was never set up)."""
    deadline = time.monotonic() + timeout
    while (waiting := flock_waiters(path)) < count:
        assert time.monotonic() < deadline, f"only {waiting} of {count} processes wait on {path}"
        time.sleep(0.05)
