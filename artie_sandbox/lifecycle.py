"""The sandbox's state directory and background services: init, up, down, by PID.

Every service is started detached (own session, SIGINT/SIGTERM at their defaults) with its pid in
`<state>/run/<name>.pid` and its output in `<state>/logs/<name>.log`. `down` signals a pid only
after checking it is still the process `up` started (same start time and command line), so a
recycled pid is never killed.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from artie_sandbox.errors import LifecycleError
from artie_sandbox.paths import api_endpoint, api_key_path, api_port_path
from artie_sandbox.provider import install

UP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


@dataclass(frozen=True)
class Service:
    """A background process of the sandbox; `{state}` in `args` becomes the state directory."""

    name: str
    args: tuple[str, ...]


# Started in this order by `up`, stopped in reverse by `down`. The API comes first: `up` returns
# once it answers.
SERVICES: list[Service] = [
    Service("api", ("-m", "artie_sandbox.api", "--state-dir", "{state}", "--port", "0")),
    Service("engine", ("-m", "artie_sandbox.engine", "--state-dir", "{state}")),
]


@dataclass(frozen=True)
class Sandbox:
    """Paths and operations of one sandbox state directory."""

    state_dir: Path

    @property
    def api_key_file(self) -> Path:
        return api_key_path(self.state_dir)

    @property
    def cli_config(self) -> Path:
        return self.state_dir / install.CLI_CONFIG

    def pid_file(self, service: Service) -> Path:
        return self.state_dir / "run" / f"{service.name}.pid"

    def log_file(self, service: Service) -> Path:
        return self.state_dir / "logs" / f"{service.name}.log"

    def api_key(self) -> str:
        return self.api_key_file.read_text().strip()

    def endpoint(self) -> str | None:
        return api_endpoint(self.state_dir)

    def init(self) -> bool:
        """Write the API key (if missing), the provider mirror and the CLI config; True if the
        key was created now."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        created = False
        try:
            fd = os.open(self.api_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(f"arsk_{secrets.token_hex(24)}\n")
            created = True
        install.install(self.state_dir)
        return created

    def is_initialized(self) -> bool:
        return self.api_key_file.exists() and self.cli_config.exists()

    def running(self, service: Service) -> int | None:
        """The pid of `service` if the process `up` started is still alive, else None."""
        try:
            record = json.loads(self.pid_file(service).read_text())
        except (OSError, ValueError):
            return None
        pid, started = record.get("pid"), record.get("start_time")
        if not isinstance(pid, int) or started is None or _start_time(pid) != started:
            return None
        return pid if _cmdline(pid) == record.get("argv") else None

    def start(self, service: Service) -> int:
        """Start `service` unless it already runs; return its pid."""
        pid = self.running(service)
        if pid is not None:
            return pid
        if service.name == "api":
            api_port_path(self.state_dir).unlink(missing_ok=True)
        log = self.log_file(service)
        log.parent.mkdir(parents=True, exist_ok=True)
        args = [a.replace("{state}", str(self.state_dir)) for a in service.args]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
                preexec_fn=_default_signals,  # noqa: PLW1509 - only resets signal dispositions
            )
        record = {"pid": proc.pid, "start_time": _start_time(proc.pid), "argv": _cmdline(proc.pid)}
        self.pid_file(service).parent.mkdir(parents=True, exist_ok=True)
        self.pid_file(service).write_text(json.dumps(record) + "\n")
        return proc.pid

    def stop(self, service: Service, timeout: float = STOP_TIMEOUT) -> int | None:
        """Stop `service` if `up` started it and it still runs; return the pid it had."""
        pid = self.running(service)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not _wait_gone(pid, timeout):
                os.kill(pid, signal.SIGKILL)
                _wait_gone(pid, timeout)
        self.pid_file(service).unlink(missing_ok=True)
        return pid

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One `up` or `down` at a time per state directory (the demo, tests and a shell may race)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / ".lifecycle.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, timeout: float = UP_TIMEOUT) -> dict[str, int]:
        """Init if needed, start every service, return once the API answers."""
        with self._locked():
            if not self.is_initialized():
                self.init()
            pids = {}
            for service in SERVICES:
                pids[service.name] = self.start(service)
                if service.name == "api":
                    self.wait_for_api(service, timeout)
            return pids

    def down(self) -> dict[str, int | None]:
        with self._locked():
            return {service.name: self.stop(service) for service in reversed(SERVICES)}

    def wait_for_api(self, service: Service, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            endpoint = self.endpoint()
            if endpoint and self.answers(endpoint):
                return endpoint
            if self.running(service) is None:
                raise LifecycleError(
                    f"the sandbox API exited during startup; see {self.log_file(service)}:\n"
                    + _tail(self.log_file(service))
                )
            time.sleep(0.05)
        raise LifecycleError(
            f"the sandbox API did not answer within {timeout:.0f} s; see {self.log_file(service)}"
        )

    def answers(self, endpoint: str) -> bool:
        request = urllib.request.Request(
            f"{endpoint}/connectors", headers={"Authorization": f"Bearer {self.api_key()}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, even if not with 200
        except OSError:
            return False


def _default_signals() -> None:
    # A shell that backgrounds us may have set SIGINT to ignored; children inherit that.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None  # a zombie is gone for our purposes
    return int(fields[19])


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    return _start_time(pid) is not None


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # reap if it is our child (same-process up/down)
            if done == pid:
                return True
        except ChildProcessError:
            pass
        if _start_time(pid) is None:
            return True
        time.sleep(0.05)
    return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
