"""The `artie-sandbox` command: init, up, down and status of the local Artie stand-in.

Exit codes: 0 ok, 1 the operation failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
import urllib.error
import urllib.request
from pathlib import Path

from artie_sandbox.environment import API_KEY_VARIABLE, terraform_environment
from artie_sandbox.errors import LifecycleError
from artie_sandbox.lifecycle import SERVICES, Sandbox
from artie_sandbox.paths import default_state_dir

# Further subcommands owned by other parts of the sandbox: name -> module exposing
# `register(subparsers)`, whose parser sets `func(args) -> int` (e.g. "fault").
EXTRA_SUBCOMMANDS: dict[str, str] = {
    "fault": "artie_sandbox.engine.fault_command",
    "source": "artie_sandbox.source.command",
}


def _sandbox(args) -> Sandbox:
    return Sandbox(Path(args.state_dir or default_state_dir()).expanduser().absolute())


def env_lines(sandbox: Sandbox) -> list[str]:
    """The shell lines that point Terraform and the provider at this sandbox (no secrets)."""
    q = shlex.quote
    lines = []
    for name, value in terraform_environment(sandbox).items():
        if name == API_KEY_VARIABLE:
            lines.append(f"export {name}=$(cat {q(str(sandbox.api_key_file))})")
        elif name == "ARTIE_ENDPOINT" and not value:
            lines.append(
                "# ARTIE_ENDPOINT: `artie-sandbox up` prints it; unset, the provider finds the "
                "sandbox running under ARTIE_SANDBOX_HOME"
            )
        else:
            lines.append(f"export {name}={q(value)}")
    return lines


def cmd_init(args) -> int:
    """Create the state directory: API key, offline provider mirror, Terraform CLI config."""
    sandbox = _sandbox(args)
    created = sandbox.init()
    print(f"Sandbox state in {sandbox.state_dir}")
    print(f"API key {'written to' if created else 'kept in'} {sandbox.api_key_file} (mode 0600)")
    print(f"Terraform CLI config: {sandbox.cli_config}")
    print("\nSet these in your shell before running terraform:\n")
    print("\n".join(env_lines(sandbox)))
    return 0


def cmd_up(args) -> int:
    """Start the sandbox in the background (runs init first if needed); returns once the API answers."""
    sandbox = _sandbox(args)
    try:
        pids = sandbox.up()
    except LifecycleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for service in SERVICES:
        print(
            f"{service.name}: running (pid {pids[service.name]}, log {sandbox.log_file(service)})"
        )
    print(f"Artie API at {sandbox.endpoint()}\n")
    print("\n".join(env_lines(sandbox)))
    return 0


def cmd_down(args) -> int:
    """Stop exactly the processes `up` started for this state directory."""
    sandbox = _sandbox(args)
    for name, pid in sandbox.down().items():
        print(f"{name}: stopped (pid {pid})" if pid else f"{name}: not running")
    return 0


def _get(endpoint: str, key: str, path: str):
    request = urllib.request.Request(
        f"{endpoint}/{path}", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _items(body) -> list[dict]:
    return body.get("items", []) if isinstance(body, dict) else list(body or [])


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text table with aligned columns."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    render = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(render)


def cmd_status(args) -> int:
    """Show connectors, source readers and pipelines as the sandbox API reports them."""
    sandbox = _sandbox(args)
    endpoint = sandbox.endpoint()
    if not sandbox.is_initialized() or not endpoint or not sandbox.answers(endpoint):
        print(
            f"The sandbox is not running (state {sandbox.state_dir}); start it with "
            "`artie-sandbox up`.",
            file=sys.stderr,
        )
        return 1
    key = sandbox.api_key()
    try:
        connectors = _items(_get(endpoint, key, "connectors?includeSourceConnectors=true"))
        readers = _items(_get(endpoint, key, "source-readers"))
        pipelines = [
            _get(endpoint, key, f"pipelines/{p['uuid']}")
            for p in _items(_get(endpoint, key, "pipelines"))
        ]
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"error: the sandbox API at {endpoint} failed: {e}", file=sys.stderr)
        return 1
    print(render_status(endpoint, connectors, readers, pipelines))
    return 0


def render_status(endpoint: str, connectors: list, readers: list, pipelines: list) -> str:
    names = {c["uuid"]: c.get("label") or c["uuid"] for c in connectors}
    names.update({r["uuid"]: r.get("name") or r["uuid"] for r in readers})
    sections = [
        f"Artie sandbox at {endpoint}",
        f"\nConnectors ({len(connectors)})",
        table(
            ["NAME", "TYPE", "UUID"],
            [[c.get("label", ""), c["type"], c["uuid"]] for c in connectors],
        ),
        f"\nSource readers ({len(readers)})",
        table(
            ["NAME", "CONNECTOR", "SHARED", "TABLES", "UUID"],
            [
                [
                    r.get("name", ""),
                    names.get(r["connectorUUID"], r["connectorUUID"]),
                    "yes" if r.get("isShared") else "no",
                    ",".join(sorted(r.get("tablesConfig") or {})) or "-",
                    r["uuid"],
                ]
                for r in readers
            ],
        ),
        f"\nPipelines ({len(pipelines)})",
        table(
            ["NAME", "READER", "DESTINATION", "STATUS", "TABLES", "UUID"],
            [
                [
                    p["name"],
                    names.get(p["sourceReaderUUID"], p["sourceReaderUUID"]),
                    f"{names.get(p.get('destinationUUID'), '?')}/{(p.get('specificDestCfg') or {}).get('database', '')}",
                    p.get("status", ""),
                    ",".join(
                        f"{t['name']}({t.get('status') or '-'})" for t in p.get("tables") or []
                    ),
                    p["uuid"],
                ]
                for p in pipelines
            ],
        ),
    ]
    return "\n".join(sections)


COMMANDS = {"init": cmd_init, "up": cmd_up, "down": cmd_down, "status": cmd_status}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="artie-sandbox",
        description="A local stand-in for Artie: REST API, Terraform provider, replication engine.",
    )
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        help="sandbox state directory (default: $ARTIE_SANDBOX_HOME or ~/.artie-sandbox)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, func in COMMANDS.items():
        sub = subparsers.add_parser(
            name, parents=[state], help=func.__doc__, description=func.__doc__
        )
        sub.set_defaults(func=func)
    for module in EXTRA_SUBCOMMANDS.values():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # argparse: 2 on usage errors, 0 on --help
        return int(e.code or 0)
    try:
        return int(args.func(args))
    except OSError as e:
        if e.filename is None:
            raise
        print(
            f"error: cannot write {e.filename}: {e.strerror}. Choose a writable state "
            "directory with --state-dir or ARTIE_SANDBOX_HOME.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
