"""The operator's guide explains every message a person must act on: each MigrationError class and each preflight line, and the README links it."""

from __future__ import annotations

import ast
import inspect

from migration_pipeline import errors
from migration_pipeline.spec import load_specs
from migration_pipeline_tests.support.paths import ROOT

GUIDE = ROOT / "docs" / "operators-guide.md"
# Where the preflight lines are made: each `_fail(name, ...)` / `CheckResult(name, ...)`.
PREFLIGHT_SOURCES = (
    ROOT / "migration_pipeline" / "preflight.py",
    ROOT / "migration_pipeline" / "orchestration" / "instance_checks.py",
)


def troubleshooting() -> str:
    return GUIDE.read_text().split("## Troubleshooting", 1)[1]


def error_classes() -> list[str]:
    """Every class errors.py defines: what a message a person meets is raised as."""
    return [
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.MigrationError) and cls.__module__ == errors.__name__
    ]


def preflight_lines() -> set[str]:
    names = set()
    for source in PREFLIGHT_SOURCES:
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_fail", "CheckResult")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    return names


def test_every_error_class_has_an_entry():
    text = troubleshooting()
    assert len(error_classes()) >= 12
    assert [c for c in error_classes() if f"**`{c}`**" not in text] == []


def test_every_preflight_line_has_an_entry():
    text = troubleshooting()
    names = preflight_lines()
    assert {"terraform", "module", "lock", "dagster instance", "run limits"} <= names
    assert sorted(n for n in names if f"`FAIL {n}`" not in text) == []


def test_the_readme_links_the_guide_and_the_production_example_parses():
    assert "docs/operators-guide.md" in (ROOT / "README.md").read_text()
    specs = load_specs(ROOT / "examples" / "production" / "migrations.yaml")
    assert specs["orders_to_motherduck"].artie.api_url == "https://api.artie.com"
