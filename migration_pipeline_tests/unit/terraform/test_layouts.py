"""On generated module layouts, each step's diff touches only its own block and reads back right."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import hcl2
from hypothesis import HealthCheck, given, settings

from migration_pipeline.terraform import edits, hcl
from migration_pipeline_tests.support.tf_layouts import modules, only, run
from migration_pipeline_tests.support.tf_modules import spec_for, write_module


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules())
def test_each_step_changes_only_its_own_lines(module):
    files, keys = module
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_module(Path(tmp), files)
        spec = spec_for(directory).model_copy(
            update={
                "new_pipeline": spec_for(directory).new_pipeline.model_copy(update={"tables": {}})
            }
        )
        loaded = hcl.load_module(directory)

        ((before, after),) = run(
            "promote", directory, spec, edits.module_pipelines(loaded, spec.reader)
        ).values()
        only("insert", before.replace("is_shared = false", "is_shared = true"), after)
        reader = hcl2.loads(after)["resource"]
        reader = next(
            r['"artie_source_reader"']['"mysql"'] for r in reader if '"artie_source_reader"' in r
        )
        assert reader["is_shared"] is True
        assert {k.strip('"') for k in reader["tables"]} == keys

        ((before, after),) = run("create", directory, spec).values()
        assert "".join(only("insert", before, after)).count('resource "artie_pipeline"') == 1

        ((before, after),) = run("cutover", directory, spec).values()
        dropped = "".join(only("delete", before, after))
        assert dropped.count('"orders_snowflake"') == 1 and "orders_duckdb" not in dropped

        loaded = hcl.load_module(directory)
        changed = run("unshare", directory, spec, edits.module_pipelines(loaded, spec.reader))
        assert all(len(re.findall(r"is_shared\s+= false", t)) == 1 for _, t in changed.values())
        assert set(loaded.files) == set(directory.glob("*.tf"))
