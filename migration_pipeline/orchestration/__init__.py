"""The Dagster layer: per migration a job, a catch-up sensor, a validation schedule and the asset
graph from the source reader to the approval."""

from __future__ import annotations

import dagster as dg

from migration_pipeline.errors import SpecError
from migration_pipeline.orchestration.assets import build_assets
from migration_pipeline.orchestration.ops import build_job
from migration_pipeline.orchestration.resources import (
    ArtieApiResource,
    TerraformResource,
    ValidationResource,
)
from migration_pipeline.orchestration.rollback import build_abort_job
from migration_pipeline.orchestration.schedules import build_schedule, build_validation_job
from migration_pipeline.orchestration.sensors import build_sensor
from migration_pipeline.spec import MigrationSpec


def resources(specs: dict[str, MigrationSpec]) -> dict[str, dg.ConfigurableResource]:
    """The shared resources; every migration of one file talks to the same Artie account."""
    artie = {(s.artie.api_url, s.artie.api_key_env) for s in specs.values()}
    if len(artie) > 1:
        raise SpecError(
            "artie",
            "every migration in one file must use the same api_url and "
            "api_key_env; split the file to use several Artie accounts",
        )
    api_url, key_env = artie.pop() if artie else ("https://api.artie.com", "ARTIE_API_KEY")
    return {
        "terraform": TerraformResource(),
        "artie": ArtieApiResource(api_url=api_url, api_key=dg.EnvVar(key_env)),
        "validation": ValidationResource(),
    }


def build_definitions(specs: dict[str, MigrationSpec]) -> dg.Definitions:
    """Everything Dagster shows for the migrations of one migrations file."""
    jobs, sensors, schedules, assets = [], [], [], []
    for spec in specs.values():
        job, validation_job = build_job(spec), build_validation_job(spec)
        jobs += [job, build_abort_job(spec), validation_job]
        sensors.append(build_sensor(spec, job))
        schedules.append(build_schedule(spec, validation_job))
        assets += build_assets(spec)
    # Every run executes its steps in its own worker process, as the migration jobs do: a UI
    # materialization (the approval, a validation) is one or two steps in one pool, and a
    # subprocess per step only adds a Python start (about 20 s on a loaded machine).
    return dg.Definitions(
        jobs=jobs,
        sensors=sensors,
        schedules=schedules,
        assets=assets,
        resources=resources(specs),
        executor=dg.in_process_executor,
    )
