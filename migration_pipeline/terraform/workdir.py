"""The lock, the edit journal and the saved plans of one Terraform working directory.

All live under `.terraform/migration-pipeline/`, Terraform's own data folder, so the user's
files stay untouched. The journal keeps the bytes of every file a step edited until the step
has applied (or been refused and restored): a crash in between leaves enough behind for the
next run to converge or restore. Saved plans hold sensitive values in clear text: they live in
a 0700 folder there, are removed when their step ends, and any left by a killed run are removed
when the next step takes the lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from migration_pipeline.errors import StepLockedError, StepRefused


def folder(working_dir: Path) -> Path:
    """The module's `.terraform/migration-pipeline/` (created when missing)."""
    path = Path(working_dir) / ".terraform" / "migration-pipeline"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def locked(working_dir: Path, wait_seconds: float = 0) -> Iterator[None]:
    """Hold the directory's lock; another holder makes this raise StepLockedError."""
    path = folder(working_dir) / "lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as e:
                if time.monotonic() >= deadline:
                    raise StepLockedError(
                        f"Another migration step is running in {working_dir} (lock {path}). "
                        "Wait for it to finish, then run this step again."
                    ) from e
                time.sleep(0.2)
        try:
            remove_plans(working_dir)  # left by a run that was killed: nobody else uses them
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_holder(working_dir: Path) -> Path | None:
    """The lock file when another process holds it, else None; takes nothing and removes
    nothing (for preflight)."""
    path = folder(working_dir) / "lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return path
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _plans(working_dir: Path) -> Path:
    plans = folder(working_dir) / "plans"
    plans.mkdir(mode=0o700, exist_ok=True)
    os.chmod(plans, 0o700)  # also when an older run created it with the umask's mode
    return plans


@contextmanager
def saved_plan(working_dir: Path, step: str) -> Iterator[Path]:
    """A path for one saved plan in the private plans folder, removed whatever happens."""
    path = _plans(working_dir) / f"{step}-{os.getpid()}.tfplan"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def remove_plans(working_dir: Path) -> None:
    """Remove every saved plan of the directory (call with its lock held)."""
    for path in _plans(working_dir).iterdir():
        path.unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file's content in one rename, keeping its permissions."""
    tmp = path.with_name(f".{path.name}.migration-pipeline.tmp")
    tmp.write_bytes(text.encode())  # bytes: text mode would rewrite CRLF line ends
    os.chmod(tmp, path.stat().st_mode)
    os.replace(tmp, path)


class Journal:
    """The original bytes of the files an unfinished step edited."""

    def __init__(self, working_dir: Path):
        self.working_dir = Path(working_dir)
        self.path = folder(working_dir) / "journal.json"

    def pending_step(self) -> str | None:
        return json.loads(self.path.read_text())["step"] if self.path.exists() else None

    def begin(self, step: str, originals: dict[Path, str]) -> None:
        """Record the files' bytes before `step` edits them (kept from an unfinished run)."""
        self.check(step)
        recorded = self._originals()
        for path, text in originals.items():
            recorded.setdefault(path.name, text)
        self.path.write_text(json.dumps({"step": step, "files": recorded}))

    def check(self, step: str) -> None:
        pending = self.pending_step()
        if pending not in (None, step):
            raise StepRefused(
                f"A previous {pending} step did not finish in {self.working_dir}: run "
                f"{pending} again first."
            )

    def _originals(self) -> dict[str, str]:
        return json.loads(self.path.read_text())["files"] if self.path.exists() else {}

    def restore(self) -> list[Path]:
        """Put every journaled file back byte for byte; the files restored."""
        restored = []
        for name, text in self._originals().items():
            path = self.working_dir / name
            if not path.exists() or path.read_bytes() != text.encode():
                if path.exists():
                    write_atomically(path, text)
                else:
                    path.write_bytes(text.encode())
                restored.append(path)
        self.clear()
        return restored

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
