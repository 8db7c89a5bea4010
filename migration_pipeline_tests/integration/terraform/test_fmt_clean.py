"""A `terraform fmt`-clean module stays clean after every step (abort's too), and bytes outside
the edited block never change (teams run `terraform fmt -check` in CI on the migration's own commits)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from migration_pipeline.phases import STEPS
from migration_pipeline.terraform import abort, edits, hcl
from migration_pipeline_tests.support.terraform_bin import terraform
from migration_pipeline_tests.support.tf_modules import spec_for

ENV = {**os.environ, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"}
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,22}", fullmatch=True)
LITERALS = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["true", "false", "null"]),
    st.text("abcé xyz_-", max_size=12).map(lambda s: f'"{s}"'),
    st.just('["a", "b"]'),
)
VALUES = st.one_of(LITERALS, st.just("var.anything"))
COMMENT = st.sampled_from(["", "", " # why", "   // note"])
NOISE = st.sampled_from(
    [
        "",
        "# a comment\n",
        "\n",
        'locals {\n  x   = 1\n  yyy = "}"\n}\n',
        'resource "terraform_data" "t" {\n  input = <<-EOT\n    a = b\n  EOT\n}\n',
    ]
)


@st.composite
def body(draw, fixed: list[str]) -> str:
    extra = draw(st.lists(st.tuples(KEYS, VALUES, COMMENT), max_size=4, unique_by=lambda t: t[0]))
    used = {f.split("=")[0].strip() for f in fixed}
    lines = fixed + [f"{k} = {v}{c}" for k, v, c in extra if k not in used and k != "tables"]
    lines = draw(st.permutations(lines))
    out = []
    for line in lines:
        if draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(["", "# about the next line"])))
        out.append(line)
    return "".join(f"  {line}\n".replace("\n", "\n  ")[:-2] if line else "\n" for line in out)


@st.composite
def tables(draw) -> str:
    names = draw(
        st.lists(
            st.sampled_from(["orders", "customers", "line_items", "x"]),
            min_size=1,
            max_size=4,
            unique=True,
        )
    )
    rows = []
    for name in names:
        inner = f'name = "{name}"\nschema = "shop"' + draw(COMMENT)
        if draw(st.booleans()):
            inner += "\nalias = " + draw(LITERALS)
        rows.append(f'"shop.{name}" = {{\n  ' + inner.replace("\n", "\n  ") + "\n}")
    return "{\n  " + "\n".join(rows).replace("\n", "\n  ") + "\n}"


@st.composite
def module(draw) -> str:
    reader = ['name = "r"' + draw(COMMENT), "connector_uuid = artie_connector.mysql.uuid"]
    state = draw(st.sampled_from(["none", "false", "shared"]))
    if state == "false":
        reader.append("is_shared = false")
    elif state == "shared":
        reader += ["is_shared = true", "tables = " + draw(tables())]
    pipeline = [
        'name = "old"' + draw(COMMENT),
        "source_reader_uuid = artie_source_reader.mysql.uuid",
        "destination_connector_uuid = artie_connector.snowflake.uuid",
        'destination_config = {\n  database = "a"\n  schema = "b"\n}',
        "tables = " + draw(tables()),
    ]
    return (
        draw(NOISE)
        + 'resource "artie_source_reader" "mysql" {\n'
        + draw(body(reader))
        + "}\n"
        + draw(NOISE)
        + "\n"
        + draw(st.sampled_from(["", "# the old one\n"]))
        + 'resource "artie_pipeline" "orders_snowflake" {\n'
        + draw(body(pipeline))
        + "}\n"
        + draw(NOISE)
    )


def fmt(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [terraform(), "fmt", "-recursive", "-no-color", *args, str(directory)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def outside_unchanged(before: str, after: str, block: hcl.ResourceBlock) -> None:
    start = hcl.line_start(before, block.start)
    end = hcl.line_end(before, block.end)
    assert after.startswith(before[:start]) and after.endswith(before[end:]), (before, after)


def abort_after_create(directory: Path, record: Path, spec) -> None:
    """The abort edits on a copy of the module as create left it, each result recorded."""
    copy = record / "abort-module"
    shutil.copytree(directory, copy)
    spec = spec.model_copy(update={"terraform": spec.terraform.model_copy(update={"dir": copy})})
    for step in abort.STEPS:
        module = hcl.load_module(copy)
        edit = getattr(abort, step)(module, spec)
        for path, after in edit.files.items():
            if step != "abort_pipeline":
                outside_unchanged(module.files[path], after, module.resources[spec.reader])
            path.write_bytes(after.encode())
            (record / step).mkdir(parents=True)
            (record / step / "main.tf").write_bytes(after.encode())
    shutil.rmtree(copy)


def migrate(directory: Path, record: Path) -> None:
    """Every step in turn; each result copied under `record` for one batched fmt check."""
    spec = spec_for(directory)
    abort.record_before(hcl.load_module(directory), spec)
    for step in STEPS:
        module = hcl.load_module(directory)
        args = (
            (edits.module_pipelines(module, spec.reader),) if step in ("promote", "unshare") else ()
        )
        edit = getattr(edits, step)(module, spec, *args)
        ((path, after),) = edit.files.items() if edit.files else ((None, None),)
        if path is None:
            assert step == "promote"  # a reader generated shared and covering every table
            continue
        before = module.files[path]
        if step in ("promote", "unshare"):
            outside_unchanged(before, after, module.resources[spec.reader])
        elif step == "create":
            old = module.resources[spec.old_pipeline]
            assert after[: old.end] == before[: old.end] and after.endswith(before[old.end :])
        else:  # cutover: one contiguous cut holding the old block
            old = module.resources[spec.old_pipeline]
            cut = len(before) - len(after)
            assert any(
                before[:s] == after[:s] and before[s + cut :] == after[s:]
                for s in range(max(0, old.end - cut), old.start + 1)
            )
        path.write_bytes(after.encode())
        (record / step).mkdir(parents=True)
        (record / step / "main.tf").write_bytes(after.encode())
        if step == "create":
            abort_after_create(directory, record, spec)


# No shrinking: one example holds twelve modules, and the failure output shows them all.
@settings(
    max_examples=4,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(module(), min_size=12, max_size=12))
def test_fmt_clean_modules_stay_fmt_clean_after_every_step(texts):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, text in enumerate(texts):
            (root / "in" / str(i)).mkdir(parents=True)
            (root / "in" / str(i) / "main.tf").write_text(text)
        assert fmt(root / "in").returncode == 0  # now every input is fmt-clean
        for i in range(len(texts)):
            migrate(root / "in" / str(i), root / "out" / str(i))
        checked = fmt(root / "out", "-check", "-list=true")
        assert checked.stdout == "" and checked.returncode == 0, checked.stdout + "".join(
            (root / "out" / line.removeprefix(str(root / "out") + "/")).read_text()
            for line in checked.stdout.split()
        )
