"""Benchmark: terraform plan/apply of the example module with the Python provider vs terraform_data.

    .venv/bin/python benchmarks/terraform_provider.py --runs 7 --out benchmarks/terraform_provider.md

Starts a throwaway sandbox, then in one run times, for both modules of the same size (3
connectors, a reader, a pipeline; the baseline is 5 `terraform_data` resources with the same
inputs and references): `plan` with nothing applied, `apply`, `plan` with everything applied
(5 refreshes, no changes) and `destroy`. Also the provider's own start-up (to its handshake
line), which Terraform pays several times per command. Writes Markdown with medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from artie_sandbox.lifecycle import Sandbox  # noqa: E402
from migration_pipeline.terraform.binary import find_terraform, version_of  # noqa: E402

EXAMPLE = ROOT / "examples" / "sandbox" / "terraform"
STEPS = {
    "plan (nothing applied)": ("plan", "-input=false", "-no-color", "-lock=false"),
    "apply (create 5)": ("apply", "-auto-approve", "-input=false", "-no-color"),
    "plan (5 applied, no changes)": ("plan", "-input=false", "-no-color", "-lock=false"),
    "destroy (5)": ("destroy", "-auto-approve", "-input=false", "-no-color"),
}

BASELINE = """\
variable "source_database_path" { type = string }
variable "source_database_name" {
  type    = string
  default = "main"
}
variable "warehouse_directory" { type = string }

resource "terraform_data" "shop" {
  input = { type = "sqlite", name = "shop", sqlite_config = { path = var.source_database_path } }
}
resource "terraform_data" "analytics_v1" {
  input = { type = "duckdb", name = "analytics_v1", duckdb_config = { directory = "${var.warehouse_directory}/analytics_v1" } }
}
resource "terraform_data" "analytics_v2" {
  input = { type = "duckdb", name = "analytics_v2", duckdb_config = { directory = "${var.warehouse_directory}/analytics_v2" } }
}
resource "terraform_data" "reader" {
  input = { name = "shop", connector_uuid = terraform_data.shop.id, database_name = var.source_database_name }
}
resource "terraform_data" "pipeline" {
  input = {
    name                               = "analytics_v1"
    source_reader_uuid                 = terraform_data.reader.id
    destination_connector_uuid         = terraform_data.analytics_v1.id
    destination_config                 = { database = "analytics_v1", schema = "main" }
    tables                             = { for t in ["customers", "orders", "order_items", "products"] : t => { name = t } }
    include_artie_updated_at_column    = true
    include_database_updated_at_column = true
  }
}
"""


def timed(terraform: str, workdir: Path, env: dict, args: tuple[str, ...]) -> float:
    start = time.perf_counter()
    subprocess.run([terraform, *args], cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def provider_startup(env: dict, runs: int) -> list[float]:
    """Seconds from exec to the go-plugin handshake line on stdout."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "artie_sandbox.provider"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        proc.stdout.readline()
        times.append(time.perf_counter() - start)
        proc.terminate()
        proc.wait()
    return times


def measure(terraform: str, workdir: Path, env: dict, runs: int) -> dict[str, list[float]]:
    subprocess.run(
        [terraform, "init", "-input=false", "-no-color"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
    )
    results: dict[str, list[float]] = {step: [] for step in STEPS}
    for _ in range(runs):
        for step, args in STEPS.items():
            results[step].append(timed(terraform, workdir, env, args))
    return results


def render(results: dict, startup: list[float], terraform: str, runs: int, load: tuple) -> str:
    med = statistics.median
    version = ".".join(map(str, version_of(terraform)))
    lines = [
        "# Terraform with the Python provider vs `terraform_data`",
        "",
        f"Median of {runs} runs, wall time in seconds, measured in one run of "
        "`benchmarks/terraform_provider.py` against a local sandbox API.",
        "",
        f"- Terraform {version}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}; {time.strftime('%Y-%m-%d', time.gmtime())}; "
        f"1-minute load average {load[0]:.1f} before, {load[1]:.1f} after (other work on the "
        "machine inflates every figure, the Python provider's most)",
        "- Python provider: `examples/sandbox/terraform` (3 `artie_connector`, 1 "
        "`artie_source_reader`, 1 `artie_pipeline` with 4 tables).",
        "- Baseline: the same 5 resources as `terraform_data` with the same inputs and references.",
        "",
        "| step | Python provider (s) | terraform_data (s) | ratio | extra cost (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for step in STEPS:
        python, base = med(results["python"][step]), med(results["baseline"][step])
        lines.append(
            f"| {step} | {python:.2f} | {base:.2f} | {python / base:.1f}x | {python - base:.2f} |"
        )
    lines += [
        "",
        f"Provider start-up to its handshake line: median {med(startup):.3f} s "
        f"(min {min(startup):.3f} s); Terraform starts it several times per command "
        "(schema, validation, plan, apply).",
        "",
        f"Reproduce: `.venv/bin/python benchmarks/terraform_provider.py --runs {runs} "
        "--out benchmarks/terraform_provider.md`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    terraform = find_terraform()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tf-provider-bench-") as tmp:
        root = Path(tmp)
        sandbox = Sandbox(root / "sandbox")
        sandbox.up()
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARTIE_"))}
            env.update(
                TF_CLI_CONFIG_FILE=str(sandbox.cli_config),
                CHECKPOINT_DISABLE="1",
                TF_IN_AUTOMATION="1",
                ARTIE_API_KEY=sandbox.api_key(),
                ARTIE_ENDPOINT=sandbox.endpoint(),
                ARTIE_SANDBOX_HOME=str(sandbox.state_dir),
            )
            tfvars = (
                f'source_database_path = "{sandbox.state_dir}/source.db"\n'
                f'warehouse_directory  = "{sandbox.state_dir}/warehouse"\n'
            )
            python_dir, baseline_dir = root / "python", root / "baseline"
            shutil.copytree(EXAMPLE, python_dir)
            baseline_dir.mkdir()
            (baseline_dir / "main.tf").write_text(BASELINE)
            for workdir in (python_dir, baseline_dir):
                (workdir / "terraform.tfvars").write_text(tfvars)
            results = {
                "python": measure(terraform, python_dir, env, args.runs),
                "baseline": measure(terraform, baseline_dir, env, args.runs),
            }
            startup = provider_startup(env, args.runs)
        finally:
            sandbox.down()
    report = render(results, startup, terraform, args.runs, (load_before, os.getloadavg()[0]))
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
