# OTOG — two commands: `make run` starts everything, `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv from PATH, else installed from PyPI with pip on first use.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen --all-packages
PY := $(RUN) python -W ignore::DeprecationWarning -W ignore::UserWarning

.PHONY: help bootstrap run stop client user app-client migrate test lint fmt openapi docs console bench nginx chromium test-slow test-failover test-concurrency backup restore

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## Install uv (if missing) and the locked dependencies
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --all-packages --quiet

nginx: bootstrap ## Install Debian's nginx when missing
	@$(PY) -m otog_devstack ensure-nginx >/dev/null

run: bootstrap ## Start PostgreSQL, migrations, the three services and nginx on :8080 (demo=1 loads demo data, replicas=N, ha=1 a Patroni cluster)
	@$(PY) -m otog_devstack run $(if $(demo),--demo,) $(if $(replicas),--replicas $(replicas),) $(if $(ha),--ha,)

stop: bootstrap ## Stop everything `make run` started
	@$(PY) -m otog_devstack stop

client: bootstrap ## Create an API client: make client name=NAME scopes="SCOPE …" [province=CODE]
	@test -n "$(name)" || { echo 'usage: make client name=NAME scopes="SCOPE …" [province=CODE]' >&2; exit 2; }
	@$(PY) -m otog_devstack client --name "$(name)" --scopes "$(scopes)" $(if $(province),--province "$(province)",)

user: bootstrap ## Create an officer's account: make user username=NAME password=PW scopes="SCOPE …" [province=CODE]
	@test -n "$(username)" -a -n "$(password)" || { echo 'usage: make user username=NAME password=PW scopes="SCOPE …" [province=CODE]' >&2; exit 2; }
	@$(PY) -m otog_devstack user --username "$(username)" --password "$(password)" --scopes "$(scopes)" $(if $(province),--province "$(province)",)

app-client: bootstrap ## Register an app (public client): make app-client name=NAME redirect_uri=URI scopes="SCOPE …"
	@test -n "$(name)" -a -n "$(redirect_uri)" || { echo 'usage: make app-client name=NAME redirect_uri=URI scopes="SCOPE …"' >&2; exit 2; }
	@$(PY) -m otog_devstack app-client --name "$(name)" $(foreach u,$(redirect_uri),--redirect-uri "$(u)") --scopes "$(scopes)"

migrate: bootstrap ## Create the databases and migrate them to head
	@$(PY) -m otog_devstack migrate

openapi: bootstrap ## Regenerate the merged OpenAPI document (deploy/openapi/openapi.json)
	@$(PY) -m otog_devstack openapi

docs: bootstrap ## Fetch Swagger UI (npm) and build the offline /docs
	@$(PY) -m otog_devstack docs >/dev/null

console: bootstrap ## Build the programme console (npm packages, esbuild) served at /console/
	@$(PY) -m otog_devstack console >/dev/null

lint: bootstrap ## ruff and mypy
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared/otog_shared services/registry/otog_registry services/training/otog_training services/loan-ledger/otog_loan_ledger deploy/devstack/otog_devstack bench

fmt: bootstrap ## Format and fix what ruff can
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

chromium: bootstrap ## Install Debian's chromium when missing (the sign-in page's browser test)
	@$(PY) -m otog_devstack ensure-chromium >/dev/null

test: bootstrap nginx chromium docs console lint ## Lint, then the whole test suite on its own temporary PostgreSQL
	$(RUN) pytest -q

test-slow: bootstrap nginx docs ## The slow tier: schemathesis fuzzing, backup/restore, slow receivers, the bench harness
	$(RUN) pytest -q -m slow

test-concurrency: bootstrap nginx ## The randomized concurrency test alone, with its progress (OTOG_CONCURRENCY_SEED=N, OTOG_CONCURRENCY_ROUNDS=N)
	$(RUN) pytest -q -s tests/concurrency

test-failover: bootstrap nginx ## The failover tier: a Patroni cluster's primary killed under load (etcd from Debian)
	@$(PY) -m otog_devstack ensure-etcd >/dev/null
	$(RUN) pytest -q -s -m failover tests/failover

bench: bootstrap nginx ## Benchmarks through the gateway, with pgbench beside each (full=1, scale=20m, label=NAME, only=…, profile=1)
	@$(PY) -m bench $(if $(full),--full,--quick) $(if $(scale),--scale $(scale),) $(if $(label),--label $(label),) $(if $(only),--only $(only),) $(if $(replicas),--replicas $(replicas),) $(if $(profile),--profile,)

backup: bootstrap ## Dump every database and copy the key files into var/backups/<timestamp>/
	@$(PY) -m otog_devstack backup

restore: bootstrap ## Restore a backup into an empty server: make restore from=DIR [force=1]
	@test -n "$(from)" || { echo 'usage: make restore from=var/backups/<timestamp> [force=1]' >&2; exit 2; }
	@$(PY) -m otog_devstack restore --from "$(from)" $(if $(force),--force,)
