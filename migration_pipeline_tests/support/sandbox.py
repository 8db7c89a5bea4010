"""A real sandbox for a test (API and engine processes by PID, a terraform CLI config with the
provider's mirror) and edits of the example module's text the way an operator makes them.

`SandboxHandle` fields: `state_dir`, `endpoint`, `api_key`, `tf_cli_config` (a CLI config with
the provider's filesystem mirror and a session plugin cache), `terraform_bin`, `env` (environment
for terraform and the provider); properties `source_db` and `warehouse` (the example's paths;
nothing is seeded); methods `terraform(workdir, *args, check=True, env=None)` (a
`CompletedProcess` with text stdout/stderr; raises `TerraformFailed` when `check` and the exit
code is not 0, or not 0/2 for `plan -detailed-exitcode`) and `api(method, path, body=None)`
(`(status, json)` from the sandbox API).
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from artie_sandbox.lifecycle import SERVICES, Sandbox
from artie_sandbox.provider import install
from sandbox_demo.prepare import WAREHOUSE, copy_example, environment, source_db


class TerraformFailed(AssertionError):
    def __init__(self, args, result: subprocess.CompletedProcess):
        super().__init__(
            f"terraform {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        self.result = result


@dataclass
class SandboxHandle:
    state_dir: Path
    endpoint: str
    api_key: str
    tf_cli_config: Path
    terraform_bin: str
    env: dict = field(repr=False)

    @property
    def source_db(self) -> Path:
        """Where the example module's source connector points (`artie-sandbox source create`'s
        default); not created by the fixture."""
        return source_db(self.state_dir)

    @property
    def warehouse(self) -> Path:
        """The example's `warehouse_directory`: DuckDB files land in `<warehouse>/<connector>/`."""
        return self.state_dir / WAREHOUSE

    def terraform(
        self, workdir, *args: str, check: bool = True, env: dict | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [self.terraform_bin, *args],
            cwd=workdir,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        ok = (0, 2) if "-detailed-exitcode" in args else (0,)
        if check and result.returncode not in ok:
            raise TerraformFailed(args, result)
        return result

    def api(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.endpoint}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def start_sandbox(state_dir: Path, plugin_cache: Path, terraform_bin: str) -> SandboxHandle:
    sandbox = Sandbox(state_dir)
    sandbox.init()
    sandbox.up()
    cli_config = state_dir / "test-terraform.rc"
    cli_config.write_text(install.cli_config_text((state_dir / "mirror").resolve(), plugin_cache))
    return SandboxHandle(
        state_dir=state_dir,
        endpoint=sandbox.endpoint(),
        api_key=sandbox.api_key(),
        tf_cli_config=cli_config,
        terraform_bin=terraform_bin,
        env=environment(sandbox, cli_config),
    )


def stop_sandbox(handle: SandboxHandle) -> None:
    sandbox = Sandbox(handle.state_dir)
    sandbox.down()
    assert all(sandbox.running(s) is None for s in SERVICES)


def example_module(handle: SandboxHandle, workdir: Path) -> Path:
    copy_example(workdir, handle.state_dir)
    return workdir


def promote(workdir: Path, tables: list[str]) -> None:
    """Make the example's reader shared, capturing `tables`."""
    entries = "".join(f'    "{t}" = {{ name = "{t}" }}\n' for t in tables)
    shared = (
        "  database_name  = var.source_database_name\n  is_shared      = true\n"
        f"  tables = {{\n{entries}  }}\n}}\n"
    )
    main = workdir / "main.tf"
    text = main.read_text()
    start = text.index("  database_name  = var.source_database_name\n")
    end = text.index("\n}\n", start) + 3
    main.write_text(text[:start] + shared + text[end:])


def drop_reader_table(workdir: Path, table: str) -> None:
    """Remove `table`'s entry from the example reader's `tables` by hand (one line or a block),
    leaving the rest of main.tf as it is: the runbook's classic mistake."""
    main = workdir / "main.tf"
    text = main.read_text()
    start = text.index('resource "artie_source_reader" "shop" {\n')
    end = text.index("\n}\n", start)
    entry = re.compile(
        rf'\n *"?{re.escape(table)}"? *= *\{{(?: name = "{re.escape(table)}" \}}'
        rf'|\n *name *= *"{re.escape(table)}"\n *\}})'
    )
    block, n = entry.subn("", text[start:end], count=1)
    assert n == 1, f"no {table} entry in the reader's tables:\n{text[start:end]}"
    main.write_text(text[:start] + block + text[end:])


def unshare(workdir: Path) -> None:
    """Back to a dedicated reader: `is_shared = false`, `tables` removed (as DESIGN.md's unshare
    step does; a removed `is_shared` would keep its prior value, as in Artie's provider)."""
    main = workdir / "main.tf"
    text = main.read_text()
    start = text.index("  database_name  = var.source_database_name\n")
    end = text.index("\n}\n", start) + 3
    dedicated = "  database_name  = var.source_database_name\n  is_shared      = false\n}\n"
    main.write_text(text[:start] + dedicated + text[end:])


def add_pipeline(workdir: Path, name: str, tables: list[str]) -> None:
    """A second pipeline on the example's reader, into the analytics_v2 warehouse."""
    entries = "".join(f'    "{t}" = {{ name = "{t}" }}\n' for t in tables)
    (workdir / f"{name}.tf").write_text(
        f'resource "artie_pipeline" "{name}" {{\n'
        f'  name                       = "{name}"\n'
        "  source_reader_uuid         = artie_source_reader.shop.uuid\n"
        "  destination_connector_uuid = artie_connector.analytics_v2.uuid\n"
        f'  destination_config = {{\n    database = "{name}"\n  }}\n'
        f"  tables = {{\n{entries}  }}\n}}\n"
    )


def remove_resource(workdir: Path, resource_type: str, name: str) -> None:
    """Delete one resource block from whichever .tf file holds it."""
    header = f'resource "{resource_type}" "{name}" {{\n'
    for path in workdir.glob("*.tf"):
        text = path.read_text()
        if header in text:
            start = text.index(header)
            end = text.index("\n}\n", start) + 3
            path.write_text(text[:start] + text[end:])
            return
    raise AssertionError(f"no {resource_type}.{name} in {workdir}")


def one_line(text: str) -> str:
    """Terraform wraps diagnostics to the terminal width; compare messages on one line."""
    return " ".join(text.split())
