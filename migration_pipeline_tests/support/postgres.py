"""A real PostgreSQL server for tests: initdb / pg_ctl in a private temp dir, loopback only on a
free port, trust auth for one user, stopped by pg_ctl and then by its postmaster's pid.

The binaries come from Debian's `postgresql` package (`make postgres` installs it where
missing). PostgreSQL refuses to run as root: as root the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "dagster"
DATABASE = "dagster"


def postgres_bin() -> Path:
    """The folder of initdb / pg_ctl; AssertionError saying how to install them when missing."""
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert candidates, (
        "PostgreSQL's initdb / pg_ctl are not installed: run `make postgres` "
        "(apt-get install -y postgresql)"
    )
    return Path(candidates[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """`with LocalPostgres() as pg:` a running server; `pg.port`, `pg.env()`."""

    def __init__(self):
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data, self.port, self.pid = self.root / "data", free_port(), None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        assert result.returncode == 0, f"{args[0]} failed: {result.stderr or result.stdout}"
        return result

    def __enter__(self) -> LocalPostgres:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            DATABASE,
        )
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            cwd=self.root,
        )
        if self.pid is not None:
            deadline = time.monotonic() + 10
            while _alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(self.pid):
                os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def env(self) -> dict[str, str]:
        """The variables examples/production/dagster-postgres.yaml reads, for this server (trust
        auth: an empty password; no TLS on loopback)."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": DATABASE,
            "DAGSTER_PG_USER": USER,
            "DAGSTER_PG_PASSWORD": "",
            "PGSSLMODE": "disable",
        }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
