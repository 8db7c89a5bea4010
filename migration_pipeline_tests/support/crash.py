"""Crash helpers: an HTTP proxy that holds Artie's answer to one request, the one way the crash
tests kill a step at that moment, and process lookups.

The proxy sits between Terraform's provider and the sandbox API. When the trapped request has
been forwarded and the sandbox has answered it (Artie accepted the change), `accepted` is set
and the answer is held back until `release` is set: the test kills whatever it wants at exactly
that moment, with no sleep and no race. `rearm` sets the next trap (one proxy serves a whole
migration); `requests` lists every request that reached the sandbox, with its answer's status.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from migration_pipeline.errors import TerraformCommandError
from migration_pipeline.terraform.steps import run_step
from migration_pipeline.terraform.workdir import Journal
from migration_pipeline_tests.support.sandbox_module import runner_for


class HoldingProxy:
    """Forwards every request to `upstream`; holds the answer to the first `method path_regex`
    once `armed` is set (at once unless `armed=False`). With `before=True` the trapped request
    itself is held and never reaches `upstream` (answered 503 once released): Artie never saw it.
    """

    def __init__(
        self, upstream: str, method: str, path_regex: str, before: bool = False, armed: bool = True
    ):
        self.upstream = urlsplit(upstream)
        self.trap = (method, re.compile(path_regex))
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self.accepted = threading.Event()
        self.release = threading.Event()
        self.armed = threading.Event()
        if armed:
            self.armed.set()
        self.trapped: tuple[str, str, int] | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if before and self._trap(urlsplit(self.path).path, 0):
                    try:
                        self.send_error(503, "held by the test and never forwarded")
                    except OSError:
                        pass  # the client was killed while its request was held
                    return
                conn = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=60
                )
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                conn.close()
                with proxy._lock:
                    proxy.requests.append((self.command, urlsplit(self.path).path, answer.status))
                if not before:
                    self._trap(urlsplit(self.path).path, answer.status)
                try:
                    self.send_response(answer.status)
                    for key, value in answer.getheaders():
                        if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client was killed while its answer was held

            def _trap(self, path: str, status: int) -> bool:
                """Hold here if this is the trapped request; whether it was."""
                with proxy._lock:
                    if not (
                        proxy.armed.is_set()
                        and not proxy.accepted.is_set()
                        and self.command == proxy.trap[0]
                        and proxy.trap[1].search(path)
                    ):
                        return False
                    proxy.trapped = (self.command, path, status)
                    release = proxy.release
                    proxy.accepted.set()
                release.wait(120)
                return True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def rearm(self, method: str, path_regex: str) -> None:
        """Trap the next `method path_regex` request; the request held now is released."""
        with self._lock:
            held = self.release
            self.trap = (method, re.compile(path_regex))
            self.trapped = None
            self.accepted = threading.Event()
            self.release = threading.Event()
        held.set()

    def reached(self, method: str, path_regex: str) -> list[tuple[str, str, int]]:
        """The requests `method path_regex` that reached the sandbox, with their statuses."""
        pattern = re.compile(path_regex)
        with self._lock:
            return [r for r in self.requests if r[0] == method and pattern.search(r[1])]

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _processes() -> dict[int, tuple[int, list[str]]]:
    """Every live process: pid -> (parent pid, argv)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            found[int(entry.name)] = (int(fields[1]), argv)
    return found


def children(parent: int, name: str) -> list[int]:
    """Live child processes of `parent` whose command line contains `name`."""
    return [
        pid
        for pid, (ppid, argv) in _processes().items()
        if ppid == parent and name in " ".join(argv)
    ]


def terraform_applying(ancestor: int) -> list[int]:
    """Live `terraform apply` processes anywhere below `ancestor` (its providers excluded)."""
    processes = _processes()

    def below(pid: int) -> bool:
        seen = set()
        while pid not in seen and pid in processes:
            seen.add(pid)
            pid = processes[pid][0]
            if pid == ancestor:
                return True
        return False

    return [
        pid
        for pid, (_, argv) in processes.items()
        if Path(argv[0]).name == "terraform" and "apply" in argv and below(pid)
    ]


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@dataclass(frozen=True)
class Killed:
    """What `kill_when_accepted` killed: the run worker (None: only terraform) and terraform."""

    worker: int | None
    terraform: int


def kill_when_accepted(
    proxy: HoldingProxy, under: int, worker: bool = False, terraform: bool = True
) -> Killed:
    """Once Artie accepted the trapped request (its answer still held), SIGKILL the step: with
    `worker`, the process running it (terraform's parent: the run worker); with `terraform`,
    terraform's process group (terraform and its provider). `under` is a process the step runs
    below. Returns once terraform is gone (at most 5 s after the kill: without `terraform`, only
    the parent-death signal stops it); the held answer is left for the caller to release."""
    assert proxy.accepted.wait(180), "the step never sent its request"
    (applying,) = terraform_applying(under)
    runner = parent_of(applying) if worker else None
    if runner is not None:
        os.kill(runner, signal.SIGKILL)
    if terraform:
        os.killpg(applying, signal.SIGKILL)  # terraform runs in its own process group
    deadline = time.monotonic() + 5
    while alive(applying) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(applying), f"terraform ({applying}) outlived the kill"
    return Killed(runner, applying)


def kill_terraform_when_accepted(proxy: HoldingProxy) -> None:
    """Kill terraform (and its provider) run by this process mid-apply once Artie accepted the
    trapped request (or, `before`, once it was held), then release the held answer."""
    kill_when_accepted(proxy, os.getpid())
    proxy.release.set()


def killed_mid_apply(
    sandbox, directory: Path, spec, api, step: str, trap: tuple, reached: bool = True
) -> HoldingProxy:
    """`step` run with its terraform killed once its `trap` request reached Artie and was
    accepted (`reached`), or was held before it reached Artie; its journal is left pending.
    The proxy, closed, tells which requests reached Artie."""
    with HoldingProxy(sandbox.endpoint, *trap, before=not reached) as proxy:
        killer = threading.Thread(target=kill_terraform_when_accepted, args=(proxy,))
        killer.start()
        with pytest.raises(TerraformCommandError):
            run_step(step, spec, runner_for(sandbox, directory, proxy.url), api)
        killer.join()
        assert reached == (200 <= proxy.trapped[2] < 300), proxy.trapped
    assert Journal(directory).pending_step() == step
    return proxy


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def files_holding(root: Path, secret: str) -> list[Path]:
    """Every file under `root` whose bytes contain `secret` (symlinks not followed)."""
    needle = secret.encode()
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


def private_temp(monkeypatch, tmp_path: Path) -> Path:
    """A temporary folder of the test's own (TMPDIR for it and every process it starts), so what
    other programs on the machine put in /tmp meanwhile is never mistaken for a leftover."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_nothing_secret_left(directory: str | Path, key: str, temp: Path) -> None:
    """No saved plan and no copy of `key` under the module or in the test's temporary folder."""
    for root in (Path(directory), temp):
        assert files_holding(root, key) == [], root
        assert not list(root.rglob("*.tfplan")), root
