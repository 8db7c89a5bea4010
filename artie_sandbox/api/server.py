"""Run the sandbox API with uvicorn on 127.0.0.1: `python -m artie_sandbox.api --state-dir DIR`.

The API key comes from `DIR/api-key` (written by `artie-sandbox init`); with `--port 0` the
port the OS chose is written to `DIR/api.port` once the server is listening.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from artie_sandbox.api.app import create_app
from artie_sandbox.paths import api_key_path, api_port_path

HOST = "127.0.0.1"


def read_api_key(state_dir: Path) -> str:
    """The key in `state_dir/api-key`; raises SystemExit with what to run when it is missing."""
    path = api_key_path(state_dir)
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        raise SystemExit(
            f"artie-sandbox api: no API key in {path}; run `artie-sandbox init` for this state "
            "directory first (it writes the key and prints it once)"
        )
    return key


class _PortWritingServer(uvicorn.Server):
    """Writes the bound port to `api.port` once listening, removes it on shutdown."""

    def __init__(self, config: uvicorn.Config, port_file: Path):
        super().__init__(config)
        self.port_file = port_file
        self.port_text = ""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if self.started:
            self.port_text = f"{self.servers[0].sockets[0].getsockname()[1]}\n"
            tmp = self.port_file.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(self.port_text)
            os.replace(tmp, self.port_file)

    async def shutdown(self, sockets=None) -> None:
        await super().shutdown(sockets)
        # Leave the file alone if another server has since claimed this state directory.
        if (
            self.port_text
            and self.port_file.exists()
            and (self.port_file.read_text() == self.port_text)
        ):
            self.port_file.unlink()


def build_server(state_dir: Path, port: int, log_level: str = "info") -> _PortWritingServer:
    app = create_app(state_dir, read_api_key(state_dir))
    config = uvicorn.Config(app, host=HOST, port=port, log_level=log_level)
    return _PortWritingServer(config, api_port_path(state_dir))


def main(argv: list[str] | None = None) -> int:
    """Serve the sandbox's Artie API on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m artie_sandbox.api", description=main.__doc__)
    parser.add_argument(
        "--state-dir",
        required=True,
        type=Path,
        help="sandbox state directory (holds api-key and control-plane.db)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="TCP port; 0 lets the OS choose and writes it to STATE_DIR/api.port",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    server = build_server(args.state_dir, args.port, args.log_level)
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())


@contextmanager
def running_in_thread(state_dir: Path, timeout: float = 10.0) -> Iterator[str]:
    """Serve in a background thread on an OS-chosen port; yields the base URL, stops on exit.

    For tests and tools in one process; `main` is the real entry point.
    """
    server = build_server(Path(state_dir), 0, log_level="warning")
    thread = threading.Thread(target=server.run, name="artie-sandbox-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the sandbox API did not start within {timeout} s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
