"""The Dagster resources: how to run terraform, reach Artie's API, and validate."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.validation import ValidationOptions
from migration_pipeline.validation.history import history_path


class TerraformResource(dg.ConfigurableResource):
    """Runs terraform on a migration's root module; `binary` overrides the spec's and PATH."""

    binary: str | None = Field(
        default=None,
        description=("A terraform binary to use instead of the spec's terraform.binary and PATH."),
    )
    timeout_seconds: float | None = Field(
        default=None,
        description=("Per terraform command, instead of the spec's terraform.timeout_seconds."),
    )

    def runner(self, spec: MigrationSpec) -> TerraformRunner:
        settings = spec.terraform
        changes = {
            k: v
            for k, v in (("binary", self.binary), ("timeout_seconds", self.timeout_seconds))
            if v is not None
        }
        return TerraformRunner.for_spec(
            settings.model_copy(update=changes) if changes else settings
        )


class ArtieApiResource(dg.ConfigurableResource):
    """Artie's REST API. Give `api_key` as `dg.EnvVar(...)`: Dagster then shows the variable's
    name, never the key."""

    api_url: str = Field(description="Artie's API, e.g. https://api.artie.com.")
    # Resolved from dg.EnvVar; never in a repr or log.
    api_key: str = Field(
        repr=False,
        description="The API key (give it as an environment "
        "variable; Dagster then shows only the variable's name).",
    )

    def client(self) -> ArtieClient:
        return ArtieClient(self.api_url, self.api_key)


class ValidationResource(dg.ConfigurableResource):
    """How validations compare: DuckDB memory, threads, keys listed per kind, lock wait."""

    memory_limit: str = Field(default="2GB", description="DuckDB memory limit of a validation.")
    threads: int | None = Field(default=None, description="DuckDB threads (default: all cores).")
    max_keys: int = Field(default=100, description="Mismatched keys listed per table and kind.")
    lock_timeout_seconds: float = Field(
        default=10.0, description=("How long to wait for a destination file a pipeline is writing.")
    )
    float_tolerance: float = Field(
        default=0.0,
        description=("Largest difference between two floating-point values still counted equal."),
    )

    def history(self, spec: MigrationSpec) -> DuckDBResource:
        """The migration's validation history database (validation_mismatches lives there too),
        opened through dagster-duckdb: it retries while another process holds the file."""
        path = history_path(spec.validation.history(spec.terraform.dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBResource(database=str(path))

    def options(self) -> ValidationOptions:
        return ValidationOptions(
            max_keys=self.max_keys,
            float_tolerance=self.float_tolerance,
            memory_limit=self.memory_limit,
            threads=self.threads,
            lock_timeout_s=self.lock_timeout_seconds,
        )
