"""The Dagster code location: Definitions for the migrations in $MIGRATIONS_FILE (default
`migrations.yaml` in the working directory)."""

from __future__ import annotations

import os

from migration_pipeline.orchestration import build_definitions
from migration_pipeline.spec import load_specs

defs = build_definitions(load_specs(os.environ.get("MIGRATIONS_FILE", "migrations.yaml")))
