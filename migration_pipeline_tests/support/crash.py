"""Crash helpers: an HTTP proxy that holds Artie's answer to one request, and process lookups.

The proxy sits between Terraform's provider and the sandbox API. When the trapped request has
been forwarded and the sandbox has answered it (Artie accepted the change), `accepted` is set
and the answer is held back until `release` is set: the test kills whatever it wants at exactly
that moment, with no sleep and no race.
"""

from __future__ import annotations

import http.client
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


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
                if not (
                    proxy.armed.is_set()
                    and not proxy.accepted.is_set()
                    and self.command == proxy.trap[0]
                    and proxy.trap[1].search(path)
                ):
                    return False
                proxy.trapped = (self.command, path, status)
                proxy.accepted.set()
                proxy.release.wait(120)
                return True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HoldingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def children(parent: int, name: str) -> list[int]:
    """Live child processes of `parent` whose command line contains `name`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and name in cmdline:
            found.append(int(entry.name))
    return found


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
