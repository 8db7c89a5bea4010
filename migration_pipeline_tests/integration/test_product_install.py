"""A production install carries only the product: its declared dependencies (without the
`[sandbox]` extra) are enough to import every product module and run `migration-pipeline`.

A real fresh venv takes minutes to resolve Dagster's tree, so the install is emulated from the
installed metadata: a child interpreter refuses every package that no requirement of the product
(transitively, extras left out) brings in, then imports the whole product."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import subprocess
import sys

from packaging.requirements import Requirement

from migration_pipeline_tests.support.paths import EXAMPLE

PRODUCT = "migration-pipeline"
EXAMPLE_SPEC = EXAMPLE / "migrations.yaml"
# pandas is the product's own (the validation_mismatches asset); pyarrow only the sandbox's.
SANDBOX_ONLY = {"fastapi", "tf", "cryptography", "pyarrow"}

CHILD = """
import importlib, importlib.abc, json, pkgutil, sys

REFUSED = set(json.loads(sys.argv[1]))
seen = []

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in REFUSED:
            seen.append(name)
            raise ModuleNotFoundError(f"{name} is not part of a production install", name=name)
        return None

sys.meta_path.insert(0, Refuse())
import migration_pipeline
modules = [m.name for m in pkgutil.walk_packages(migration_pipeline.__path__, "migration_pipeline.")
           if not m.name.endswith(".__main__")]  # a command's entry point, run below
for name in modules:
    importlib.import_module(name)
from migration_pipeline.cli import main
codes = [main(argv) for argv in (["--help"], ["validate", "--help"], ["rehearse", "--help"],
                                 ["status", "--help"], ["approve", "--help"])]
print(json.dumps({"modules": modules, "codes": codes, "refused": seen}), file=sys.stderr)
"""


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def product_closure() -> set[str]:
    """Every distribution a plain `pip install migration-pipeline` brings in (extras left out)."""
    found, pending = set(), [PRODUCT]
    while pending:
        name = pending.pop()
        if _key(name) in found:
            continue
        found.add(_key(name))
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return found


def refused_imports(closure: set[str]) -> set[str]:
    """Top-level import names that only come from distributions outside `closure`, and the
    project's own non-product packages."""
    refused = {"artie_sandbox", "sandbox_demo", "migration_pipeline_tests"}
    for module, distributions in metadata.packages_distributions().items():
        if module != "migration_pipeline" and not {_key(d) for d in distributions} & closure:
            refused.add(module)
    return refused


def test_the_sandbox_dependencies_are_only_in_the_sandbox_extra():
    closure = product_closure()
    assert not closure & SANDBOX_ONLY
    extra = {
        _key(Requirement(r).name) for r in metadata.requires(PRODUCT) if 'extra == "sandbox"' in r
    }
    assert SANDBOX_ONLY <= extra


def test_every_product_module_imports_and_the_command_runs_without_the_sandbox():
    refused = refused_imports(product_closure())
    assert {"fastapi", "tf", "artie_sandbox", "sandbox_demo", "hypothesis"} <= refused
    # definitions.py builds the code location from $MIGRATIONS_FILE at import.
    env = {
        **os.environ,
        "MIGRATIONS_FILE": str(EXAMPLE_SPEC),
        "ARTIE_ENDPOINT": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(sorted(refused))],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0, 0]
    assert {
        "migration_pipeline.cli.status",
        "migration_pipeline.definitions",
        "migration_pipeline.validation.engine",
    } <= set(report["modules"])
    assert "Move a live Artie pipeline" in result.stdout
