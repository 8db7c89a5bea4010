"""The Dagster resources: how to run terraform, reach Artie's API, and validate."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from migration_pipeline.artie.client import ArtieClient
from migration_pipeline.spec import MigrationSpec
from migration_pipeline.terraform.runner import TerraformRunner
from migration_pipeline.validation import ValidationOptions


class TerraformResource(dg.ConfigurableResource):
    """Runs terraform on a migration's root module; `binary` overrides the spec's and PATH."""

    binary: str | None = None
    timeout_seconds: float | None = None

    def runner(self, spec: MigrationSpec) -> TerraformRunner:
        settings = spec.terraform
        changes = {k: v for k, v in (("binary", self.binary),
                                     ("timeout_seconds", self.timeout_seconds)) if v is not None}
        return TerraformRunner.for_spec(settings.model_copy(update=changes) if changes else settings)


class ArtieApiResource(dg.ConfigurableResource):
    """Artie's REST API. Give `api_key` as `dg.EnvVar(...)`: Dagster then shows the variable's
    name, never the key."""

    api_url: str
    api_key: str = Field(repr=False)  # resolved from dg.EnvVar; never in a repr or log

    def client(self) -> ArtieClient:
        return ArtieClient(self.api_url, self.api_key)


class ValidationResource(dg.ConfigurableResource):
    """How validations compare: DuckDB memory, threads, keys listed per kind, lock wait."""

    memory_limit: str = "2GB"
    threads: int | None = None
    max_keys: int = 100
    lock_timeout_seconds: float = 10.0
    float_tolerance: float = 0.0

    def options(self) -> ValidationOptions:
        return ValidationOptions(max_keys=self.max_keys, float_tolerance=self.float_tolerance,
                                 memory_limit=self.memory_limit, threads=self.threads,
                                 lock_timeout_s=self.lock_timeout_seconds)
