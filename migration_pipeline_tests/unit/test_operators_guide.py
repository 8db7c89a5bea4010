"""The operator's guide explains every message a person must act on (each MigrationError class, each preflight line, and the text of every message raised or given as a fix in migration_pipeline/), and the README links it."""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass

from migration_pipeline import errors
from migration_pipeline.spec import load_specs
from migration_pipeline_tests.support.paths import ROOT

GUIDE = ROOT / "docs" / "operators-guide.md"
# Where the preflight lines are made: each `_fail(name, ...)` / `CheckResult(name, ...)`.
PREFLIGHT_SOURCES = (
    ROOT / "migration_pipeline" / "preflight.py",
    ROOT / "migration_pipeline" / "orchestration" / "instance_checks.py",
)


PRODUCT = ROOT / "migration_pipeline"


def troubleshooting() -> str:
    return GUIDE.read_text().split("## Troubleshooting", 1)[1]


def normalized(text: str) -> str:
    """Backticks dropped and whitespace collapsed: the guide wraps lines and quotes messages as
    code, the code writes them on one line."""
    return " ".join(text.replace("`", "").split())


@dataclass(frozen=True)
class Message:
    where: str
    template: str
    fragments: tuple[str, ...]


def _parts(node: ast.expr) -> list[str | None] | None:
    """A message's text as literal parts and None for each variable part, or None when it is
    not written here (a variable: the message was made, and is checked, where it was written)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [v.value if isinstance(v, ast.Constant) else None for v in node.values]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        return None if left is None and right is None else [*(left or [None]), *(right or [None])]
    return None


def _message_arguments(call: ast.Call, classes: frozenset[str]) -> list[ast.expr]:
    """The arguments of a call that carry a message a person acts on: every argument of a
    MigrationError subclass (raised, or built to be raised), the `fix` of a preflight line
    (`_fail(name, detail, fix)`, `CheckResult(name, passed, detail, fix)`), and each line
    appended to `problems`, the lists InputCheckError and PlanGuardRefusal show."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    keywords = {k.arg: k.value for k in call.keywords}
    if name in classes:
        return [*call.args, *keywords.values()]
    if name == "_fail":
        return call.args[2:3] + [v for k, v in keywords.items() if k == "fix"]
    if name == "CheckResult":
        return call.args[3:4] + [v for k, v in keywords.items() if k == "fix"]
    if name == "append" and getattr(getattr(func, "value", None), "id", None) == "problems":
        return list(call.args)
    return []


def messages() -> list[Message]:
    """Every such message in migration_pipeline/, with its stable fragments: each literal part
    between two variable parts that holds at least two words (trimmed of spaces and of the
    punctuation that joins it to a variable)."""
    found, classes = [], frozenset(error_classes())
    for path in sorted(PRODUCT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for argument in _message_arguments(node, classes):
                parts = _parts(argument)
                if parts is None:
                    continue
                trimmed = [p.strip(" .,:;()\n") for p in parts if p is not None]
                fragments = tuple(normalized(p) for p in trimmed if " " in p.strip())
                template = "".join("<...>" if p is None else p for p in parts)
                if fragments:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append(Message(where, template, fragments))
    return found


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


def test_every_message_that_tells_a_person_to_act_is_in_the_guide():
    text = normalized(troubleshooting())
    found = messages()
    # The rule finds what it must: a raised message, a preflight fix, a plan-guard line.
    templates = "\n".join(m.template for m in found)
    assert len(found) >= 80
    assert "Wait for it to finish, then run this step again." in templates
    assert "give the key read access to the reader and pipelines" in templates
    assert "a migration step never replaces a resource." in templates
    missing = [
        f"{m.where}: {m.template!r} lacks {[f for f in m.fragments if f not in text]}"
        for m in found
        if any(f not in text for f in m.fragments)
    ]
    assert missing == []


def test_the_readme_links_the_guide_and_the_production_example_parses():
    readme = (ROOT / "README.md").read_text()
    assert "docs/operators-guide.md" in readme
    # The README keeps the commands and the browser test's screenshot folder; the reference
    # lives in the guide only.
    for command in (
        "make demo",
        "make ui",
        "make test",
        "make clean",
        "$TEST_ARTIFACTS_DIR/browser/",
    ):
        assert command in readme
    assert "## Configuration reference" not in readme and "## Troubleshooting" not in readme
    assert "## Configuration reference" in GUIDE.read_text()
    specs = load_specs(ROOT / "examples" / "production" / "migrations.yaml")
    assert specs["orders_to_motherduck"].artie.api_url == "https://api.artie.com"
