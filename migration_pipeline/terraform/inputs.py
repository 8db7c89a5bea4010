"""The checks on a migration's inputs that run before anything is applied (the job's first step
and `rehearse`): one list, so a later check is added in one place.

Each check reads the module, the Terraform state and, where the module takes a connector as a
variable, Artie's API; a failed check names what to fix. Where a destination lives is decided
here too (`destination_location`), for the checks and for validation alike.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from migration_pipeline.errors import (
    ArtieApiError,
    InputCheckError,
    SpecError,
    TerraformCommandError,
)
from migration_pipeline.locations import is_motherduck, motherduck
from migration_pipeline.spec import MigrationSpec, connector_expression
from migration_pipeline.terraform import edits, hcl
from migration_pipeline.terraform.runner import Evaluation, is_lock_error
from migration_pipeline.terraform.state import TerraformState


class ConnectorSource(Protocol):
    """What locating a destination asks Artie: a connector's settings (ArtieClient)."""

    def get_connector(self, uuid: str) -> Mapping[str, Any]: ...


def connector_settings(
    state: TerraformState, uuid: str | None, artie: ConnectorSource | None
) -> Mapping[str, Any]:
    """A connector's `type` and `duckdb_config` from the state, else from Artie's API (a module
    that takes the connector's uuid as a variable does not hold the connector)."""
    found = state.by_uuid(uuid)
    if found is not None or not uuid or artie is None:
        return found or {}
    try:
        wire = artie.get_connector(uuid)
    except ArtieApiError as e:
        if e.status_code == 404:
            return {}
        raise
    return {"type": wire.get("type"), "duckdb_config": wire.get("sharedConfig") or {}}


def destination_location(
    state: TerraformState, pipeline: str, field: str, artie: ConnectorSource | None = None
) -> str:
    """A DuckDB pipeline's file (`<connector directory>/<database>.duckdb`), or `md:<database>`."""
    attrs = state.attributes(pipeline)
    if attrs is None:
        raise SpecError(
            f"validation.{field}",
            f"{pipeline} is not in the Terraform state, so "
            "its destination cannot be derived; set it explicitly",
        )
    database = (attrs.get("destination_config") or {}).get("database")
    connector = connector_settings(state, attrs.get("destination_connector_uuid"), artie)
    return _location(connector, database, field, f"the destination of {pipeline}")


def _location(connector: Mapping[str, Any], database: str | None, field: str, what: str) -> str:
    if database and is_motherduck(database):
        return database
    directory = (connector.get("duckdb_config") or {}).get("directory")
    if connector.get("type") == "motherduck" and database:
        return motherduck(database)
    if not directory or not database or not Path(directory).is_absolute():
        where = (
            "its connector is neither in the Terraform state nor known to Artie's API"
            if not connector
            else "it is not a DuckDB connector with an absolute directory"
        )
        raise SpecError(
            f"validation.{field}",
            f"{what} cannot be located: {where}; set validation.{field} explicitly",
        )
    return str(Path(directory) / f"{database}.duckdb")


@dataclass(frozen=True)
class Inputs:
    """What the checks look at."""

    spec: MigrationSpec
    module: hcl.Module
    state: TerraformState
    artie: ConnectorSource | None
    evaluate: Callable[[str], Evaluation] | None = None  # TerraformRunner.evaluate


def _addresses(i: Inputs) -> list[str]:
    spec, problems = i.spec, []
    cut_over = spec.old_pipeline not in i.module.resources and (
        spec.new_pipeline.address in i.module.resources
    )
    for field, address in (("reader", spec.reader), ("old_pipeline", spec.old_pipeline)):
        if field == "old_pipeline" and cut_over:
            continue
        if address not in i.module.resources:
            near = _near(address, i.module.resources)
            problems.append(
                f"{field}: {address} is not declared in {i.module.directory}/*.tf"
                + (f" (did you mean {near}?)" if near else "")
                + "."
            )
        elif i.state.attributes(address) is None:
            problems.append(
                f"{field}: {address} is declared but not in the Terraform state: "
                "apply the module (terraform apply) before migrating."
            )
    expression = connector_expression(spec.new_pipeline)
    if expression:
        problems += _expression_declared(i.module, expression)
    return problems


def _expression_declared(module: hcl.Module, expression: str) -> list[str]:
    field = "new_pipeline.destination_connector"
    kind, _, rest = expression.partition(".")
    if kind in ("var", "local", "data"):
        name = rest.split(".")[0] if kind != "data" else ".".join(rest.split(".")[:2])
        label = {"var": "variable", "local": "locals", "data": "data"}[kind]
        parts = [re.escape(p) for p in name.split(".")]
        declared = (
            rf'^variable\s+"?{parts[0]}"?\s*\{{'
            if kind == "var"
            else rf"^\s*{parts[0]}\s*="
            if kind == "local"
            else rf'^data\s+"?{parts[0]}"?\s+"?{parts[-1]}"?\s*\{{'
        )
        if not any(re.search(declared, text, re.MULTILINE) for text in module.files.values()):
            return [
                f"{field}: {expression} refers to a {label} {name} that {module.directory}"
                "/*.tf does not declare."
            ]
        return []
    address = ".".join(expression.split(".")[:2])
    if address not in module.resources:
        near = _near(address, module.resources)
        return [
            f"{field}: {address} is not declared in {module.directory}/*.tf"
            + (f" (did you mean {near}?)" if near else "")
            + "."
        ]
    return []


def _destinations(i: Inputs) -> list[str]:
    spec, problems = i.spec, []
    v = spec.validation
    if spec.old_pipeline in i.module.resources and i.state.attributes(spec.old_pipeline):
        try:
            old = v.old_destination or destination_location(
                i.state, spec.old_pipeline, "old_destination", i.artie
            )
        except SpecError as e:
            problems.append(str(e))
        else:
            # Derived from the state, a file not written yet is fine (the old pipeline may not
            # have flushed a batch); a file named in the spec must be there.
            path = None if is_motherduck(old) else Path(old)
            if path is not None and (
                not _reads_as_duckdb(path) if path.exists() else v.old_destination is not None
            ):
                problems.append(
                    f"validation.old_destination: the old destination {old} cannot "
                    "be read (missing, not a DuckDB file, or no permission): fix the "
                    "path or its permissions, or set validation.old_destination."
                )
    return problems + _new_destination(i)


def _new_destination(i: Inputs) -> list[str]:
    """The new pipeline's connector exists (in the state, or at Artie for a uuid or an
    expression's value), is a DuckDB connector validation can read, and what is already at the
    new destination's file reads as DuckDB (the file itself may not exist yet)."""
    spec, new = i.spec, i.spec.new_pipeline
    if spec.validation.new_destination is not None or new.address in i.state.uuids():
        return []
    connector, problems = _new_connector(i)
    if connector is None:
        return problems
    old_attrs = i.state.attributes(spec.old_pipeline) or {}
    database = (new.destination_config or {}).get("database") or (
        old_attrs.get("destination_config") or {}
    ).get("database")
    try:
        location = _location(connector, database, "new_destination", "the new destination")
    except SpecError as e:
        return [str(e)]
    path = None if is_motherduck(location) else Path(location)
    if path is not None and (
        not _reads_as_duckdb(path) if path.exists() else not _enterable(path.parent)
    ):
        return [
            f"validation.new_destination: the new destination {location} cannot be read "
            "(not a DuckDB file, or no permission on it or its folder): fix the connector's "
            "directory or its permissions, or set validation.new_destination."
        ]
    return []


def _new_connector(i: Inputs) -> tuple[Mapping[str, Any] | None, list[str]]:
    """The new pipeline's destination connector's settings (None when they cannot be known
    before the apply), or the problems finding it."""
    new, field = i.spec.new_pipeline, "new_pipeline.destination_connector"
    expression = connector_expression(new) or ""
    if expression.startswith("artie_connector.") and expression.endswith(".uuid"):
        return i.state.attributes(expression.removesuffix(".uuid")), []
    if new.destination_connector_uuid:
        return connector_settings(i.state, new.destination_connector_uuid, i.artie), []
    if not expression or i.evaluate is None or _expression_declared(i.module, expression):
        return None, []  # an undeclared expression is a problem of its own (_addresses)
    try:
        value = i.evaluate(expression)
    except TerraformCommandError as e:
        if is_lock_error(e):
            raise  # not an input to fix: another run held the state lock too long
        return None, [f"{field}: terraform console cannot evaluate {expression}: {e.stderr}"]
    if value.status == "unknown" and expression.startswith("var."):
        return None, [
            f"{field}: {expression} has no value: set it in terraform.tfvars (or a file in "
            "terraform.var_files) or give the variable a default."
        ]
    if value.status != "known":
        return None, []  # known only at apply, or sensitive: the plan guard still checks create
    if not isinstance(value.value, str) or not value.value:
        return None, [
            f"{field}: {expression} is not a connector uuid (terraform console gives "
            f"{value.value!r}): fix its value."
        ]
    connector = connector_settings(i.state, value.value, i.artie)
    if not connector and i.artie is not None:
        return None, [
            f"{field}: {expression} is {value.value} (terraform console), which is no "
            "connector in the Terraform state or at Artie: fix its value."
        ]
    return connector, []


def _enterable(folder: Path) -> bool:
    """A folder validation can read once the pipeline writes there: the nearest existing one
    (the pipeline creates the rest) is readable and searchable."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.R_OK | os.X_OK)


def _reads_as_duckdb(path: Path) -> bool:
    """A readable DuckDB database file (its header says so); read without taking DuckDB's lock,
    which a pipeline writing a batch may hold."""
    try:
        with path.open("rb") as f:
            return f.read(12)[8:12] == b"DUCK"
    except OSError:
        return False


CHECKS: tuple[Callable[[Inputs], list[str]], ...] = (_addresses, _destinations)


def check_inputs(
    spec: MigrationSpec,
    state: TerraformState,
    artie: ConnectorSource | None = None,
    evaluate: Callable[[str], Evaluation] | None = None,
) -> None:
    """Run every check; raise one InputCheckError listing every problem (nothing applied).
    `evaluate` (TerraformRunner.evaluate) gives an expression's value, e.g. a `var.x` the new
    pipeline's destination is written as; without it such a value is not checked."""
    module = hcl.load_module(Path(spec.terraform.dir))
    inputs = Inputs(spec, module, state, artie, evaluate)
    problems = [p for check in CHECKS for p in check(inputs)]
    if not problems:
        for address in (spec.reader, spec.old_pipeline):
            if address in module.resources:
                edits.resource(module, address)  # for_each / count refusals, with moved blocks
    if problems:
        raise InputCheckError(problems)


def _near(address: str, known) -> str | None:
    kind = address.split(".")[0]
    names = [a for a in known if a.split(".")[0] == kind]
    match = difflib.get_close_matches(address, names, n=1, cutoff=0.75)
    return match[0] if match else None
