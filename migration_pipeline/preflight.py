"""Preflight: everything that can be checked before a migration's first step, one pass/fail line
each with what to do (`migration-pipeline preflight` and the job's first op run the same list).

The checks on the module, state and destinations the steps rely on are terraform/inputs.py's
list (`check_inputs`), reused here; the Dagster instance is checked by orchestration (it alone
imports Dagster) and added to these lines by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.errors import (
    ArtieApiError,
    ConfigurationError,
    MigrationError,
    ModuleEditError,
    PreflightFailed,
    SpecError,
    ValidationInputError,
)
from migration_pipeline.locations import is_motherduck
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform import hcl, workdir
from migration_pipeline.terraform.binary import version_of
from migration_pipeline.terraform.coverage import reader_gaps
from migration_pipeline.terraform.inputs import check_inputs, destination_location
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.terraform.state import TerraformState

PROVIDER_SOURCE = "artie-labs/artie"
MIN_TERRAFORM = (1, 5, 0)


@dataclass(frozen=True)
class CheckResult:
    """One preflight line: what was checked, whether it passed, what was found, what to do."""

    name: str
    passed: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"
        return head if self.passed or not self.fix else f"{head}\n     fix: {self.fix}"


@dataclass
class _Context:
    spec: MigrationSpec
    api_key: str | None
    runner: TerraformRunner | None = None
    state: TerraformState | None = None
    module: hcl.Module | None = None
    client: ArtieClient | None = None
    results: list[CheckResult] = field(default_factory=list)


def _fail(name: str, detail: str, fix: str) -> CheckResult:
    return CheckResult(name, False, detail, fix)


def _terraform(c: _Context) -> Iterator[CheckResult]:
    try:
        c.runner = TerraformRunner.for_spec(c.spec.terraform)
        version = version_of(c.runner.binary)
    except (MigrationError, OSError) as e:
        c.runner = None
        yield _fail(
            "terraform",
            str(e),
            "install terraform >= 1.5 on PATH or set terraform.binary in migrations.yaml",
        )
        return
    shown = ".".join(map(str, version))
    if version < MIN_TERRAFORM:
        c.runner = None
        yield _fail("terraform", f"{c.runner.binary} is {shown}", "install terraform >= 1.5")
        return
    yield CheckResult("terraform", True, f"{c.runner.binary} {shown}")


_PROVIDER = re.compile(
    r'artie\s*=\s*\{[^}]*?source\s*=\s*"([^"]+)"(?:[^}]*?version\s*=\s*"([^"]+)")?', re.DOTALL
)
_LOCKED = re.compile(
    r'provider\s+"registry\.terraform\.io/artie-labs/artie"\s*\{\s*version\s*=\s*"([^"]+)"'
)


def _provider(c: _Context) -> Iterator[CheckResult]:
    if c.runner is None:
        return
    directory = Path(c.spec.terraform.dir)
    texts = "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))
    found = _PROVIDER.search(texts)
    if found is None or found.group(1).removeprefix("registry.terraform.io/") != PROVIDER_SOURCE:
        yield _fail(
            "provider",
            "required_providers has no artie = { source = "
            f'"{PROVIDER_SOURCE}" }} (found {found.group(1) if found else "none"})',
            f'declare artie = {{ source = "{PROVIDER_SOURCE}", version = "..." }} in '
            "terraform { required_providers { ... } }",
        )
        return
    if not found.group(2):
        yield _fail(
            "provider",
            f"{PROVIDER_SOURCE} has no version constraint",
            "pin the provider's version in required_providers (the plan guard knows "
            "the attributes of the version it was tested with)",
        )
        return
    lock = directory / ".terraform.lock.hcl"
    locked = _LOCKED.search(lock.read_text()) if lock.is_file() else None
    try:
        c.runner.init()
    except MigrationError as e:
        yield _fail(
            "provider",
            f"terraform init failed: {e}",
            "fix the module or the CLI "
            "configuration (terraform.cli_config_file) until `terraform init` succeeds",
        )
        c.runner = None
        return
    detail = f"{PROVIDER_SOURCE} {found.group(2)}" + (
        f", locked at {locked.group(1)}" if locked else ", not locked yet (.terraform.lock.hcl)"
    )
    yield CheckResult("provider", True, detail)


def _module_and_state(c: _Context) -> Iterator[CheckResult]:
    if c.runner is None:
        yield _fail("module", "not checked: terraform could not run", "fix the lines above")
        return
    try:
        c.module = hcl.load_module(Path(c.spec.terraform.dir))
        c.state = c.runner.state()
        check_inputs(c.spec, c.state, c.client, c.runner.evaluate)
    except ConfigurationError as e:
        problems = getattr(e, "problems", None) or [str(e)]
        for problem in problems:
            yield _fail("module", problem, "fix migrations.yaml or the module as the line says")
        c.module = None
        return
    except (ModuleEditError, MigrationError) as e:
        yield _fail("module", str(e), "change the module as the message says")
        c.module = None
        return
    yield CheckResult(
        "module",
        True,
        f"{c.spec.reader}, {c.spec.old_pipeline} declared "
        "(not in count / for_each / a module) and in the state",
    )


def _coverage(c: _Context) -> Iterator[CheckResult]:
    if c.module is None or c.client is None:
        return
    try:
        gaps = reader_gaps(c.module, c.spec, c.state, c.client)
    except MigrationError as e:
        yield _fail("reader coverage", str(e), "fix the line above")
        return
    if gaps:
        shown = ", ".join(f"{g.table} (used by {g.used_by})" for g in gaps)
        yield _fail(
            "reader coverage",
            f"the shared reader {c.spec.reader} does not capture "
            f"{shown}: those tables silently stop being captured",
            "add them to the reader's tables and terraform apply before migrating",
        )
        return
    yield CheckResult("reader coverage", True, "the reader captures every table its pipelines need")


def _api(c: _Context) -> Iterator[CheckResult]:
    variable = c.spec.artie.api_key_env
    if not c.api_key:
        yield _fail(
            "artie api",
            f"{variable} is not set",
            f"export {variable} with the Artie API key (never put it in migrations.yaml)",
        )
        return
    c.client = ArtieClient(c.spec.artie.api_url, c.api_key)
    try:
        pipelines = c.client.list_pipelines()
    except ArtieApiError as e:
        yield _fail("artie api", str(e), f"check artie.api_url and the key in {variable}")
        c.client.close()
        c.client = None
        return
    yield CheckResult(
        "artie api",
        True,
        f"{c.spec.artie.api_url} accepts the key ({len(pipelines)} pipelines visible)",
    )


def _api_reads(c: _Context) -> Iterator[CheckResult]:
    if c.client is None or c.state is None:
        return
    uuids = c.state.uuids()
    try:
        c.client.get_source_reader(uuids[c.spec.reader])
        c.client.get_pipeline(uuids[c.spec.old_pipeline])
    except ArtieApiError as e:
        yield _fail(
            "artie reads",
            str(e),
            "give the key read access to the reader and "
            "pipelines, or check that they still exist at Artie",
        )
        return
    except KeyError:
        return  # the module check above already named what is missing from the state
    yield CheckResult("artie reads", True, "the key reads the reader and the old pipeline")


def _destination(c: _Context) -> Iterator[CheckResult]:
    if c.state is None or c.module is None:
        return
    from migration_pipeline.validation.catalog import readable_tables  # DuckDB only when needed

    try:
        old = c.spec.validation.old_destination or destination_location(
            c.state, c.spec.old_pipeline, "old_destination", c.client
        )
        if (
            c.spec.validation.old_destination is None
            and not is_motherduck(old)
            and not Path(old).exists()
        ):
            # As the input checks allow: the old pipeline may not have flushed a batch yet.
            yield CheckResult(
                "destination",
                True,
                f"{old} not written yet (its tables' keys are checked by the first validation)",
            )
            return
        tables = readable_tables(old)
    except (SpecError, ValidationInputError) as e:
        yield _fail(
            "destination",
            str(e),
            "make the old destination readable by this user (or set validation.old_destination)",
        )
        return
    keys = c.spec.validation.keys
    replicated = {
        t.get("alias") or t.get("name") or key
        for key, t in ((c.state.attributes(c.spec.old_pipeline) or {}).get("tables") or {}).items()
    }
    keyless = sorted(
        t.name for t in tables if t.name in replicated and not t.primary_key and t.name not in keys
    )
    if keyless:
        yield _fail(
            "destination",
            f"{', '.join(keyless)} in {old} have no primary key",
            "declare the key columns under validation.keys in migrations.yaml",
        )
        return
    where = old if is_motherduck(old) else Path(old).name
    yield CheckResult(
        "destination", True, f"{where} opens read-only; the old pipeline's tables have keys"
    )


def _lock(c: _Context) -> Iterator[CheckResult]:
    directory = Path(c.spec.terraform.dir)
    holder = workdir.lock_holder(directory)
    if holder is not None:
        yield _fail(
            "lock",
            f"Another migration step is running in {directory} (lock {holder})",
            "wait for the other migration's step, or find the process holding the lock file",
        )
        return
    yield CheckResult("lock", True, "no other migration step holds the module's lock")


CHECKS: tuple[Callable[[_Context], Iterator[CheckResult]], ...] = (
    _terraform,
    _provider,
    _api,
    _module_and_state,
    _coverage,
    _api_reads,
    _destination,
    _lock,
)


def preflight(spec: MigrationSpec, api_key: str | None, *, job: bool = False) -> list[CheckResult]:
    """Run every check in order; later checks that need an earlier one's result are skipped
    (with a line saying so) when it failed. In the job (`job=True`) reader coverage is left to
    its first step, promote, which adds exactly the missing tables."""
    context = _Context(spec, api_key)
    checks = [c for c in CHECKS if not (job and c is _coverage)]
    try:
        return [result for check in checks for result in check(context)]
    finally:
        if context.client is not None:
            context.client.close()


def require(results: list[CheckResult]) -> None:
    """Raise PreflightFailed listing every failed line (what the job stops with)."""
    failed = [r.line() for r in results if not r.passed]
    if failed:
        raise PreflightFailed(failed)
