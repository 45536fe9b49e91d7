# Two commands matter: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

FRONTEND := frontend
NODE_STAMP := $(FRONTEND)/node_modules/.installed-stamp
DASHBOARD := $(FRONTEND)/dist/index.html
# Everything the build reads: a change to any of them makes the dashboard stale.
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/public -type f 2>/dev/null) \
	$(wildcard $(FRONTEND)/index.html $(FRONTEND)/*.config.ts $(FRONTEND)/tsconfig*.json)
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The emulator (ministack) and the template's linters each have a venv of their own: ministack
# pins botocore exactly, aws-sam-cli needs a newer one. See docs/DEPLOYMENT.md.
EMULATOR_VENV := .venv-emulator
EMULATOR_STAMP := $(EMULATOR_VENV)/.installed-stamp
EMULATOR_PORT ?= 4566
EMULATOR_KAFKA_PORT ?= 19092
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp
SAM_BUILD_DIR := build/sam
# cfn-lint and sam need a region and nothing else: no credentials, no network.
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 PIP_PYTHON=$(abspath $(BIN)/python)

.PHONY: run run-services test install dashboard frontend-test browser lint typecheck \
	unit integration e2e browser-e2e bench bench-smoke pgbench chaos chaos-smoke clean \
	emulator emulator-stop emulator-install template-lint sam-install audit audit-code audit-deps

run: install dashboard
	$(BIN)/wallet serve

# The split topology: 2 gateways, 2 consumers and 1 relay on Kafka (a local Tansu unless
# WALLET_KAFKA_BOOTSTRAP is set), PostgreSQL and Redis. See docs/ARCHITECTURE.md.
run-services: install dashboard
	$(BIN)/wallet services

test: install audit-code lint typecheck template-lint emulator-install dashboard frontend-test browser
	$(BIN)/pytest
	$(MAKE) bench-smoke
	$(MAKE) chaos-smoke

install: $(STAMP)

# Supply chain (docs/SECURITY.md). `audit-code` is bandit over the code that ships: offline, so
# `make test` runs it. `audit-deps` asks advisory services about every package of the venv and
# the dashboard's runtime npm packages; a finding fails it, and so does a service that gives no
# answer (pip-audit's --strict: a package it could not look up is a failure, not a skip). This
# machine reaches neither service (docs/SECURITY.md), so `make test` cannot include it here.
audit: audit-code audit-deps

audit-code: install
	$(BIN)/bandit --quiet --configfile infra/bandit.yaml --recursive layers runtime functions

audit-deps: install $(NODE_STAMP)
	@failed=""; \
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off || failed="$$failed pip-audit"; \
	(cd $(FRONTEND) && npm audit --omit=dev --audit-level=low) || failed="$$failed npm-audit"; \
	[ -z "$$failed" ] || { echo "make audit-deps FAILED:$$failed. Either a finding (listed above) \
	or an advisory service that could not be reached from this machine (pip-audit: 'could not be \
	audited'; npm: 'audit endpoint returned an error'). See docs/SECURITY.md." >&2; exit 1; }

# Re-installs whenever pyproject.toml changes, so a pulled dependency is never missing.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The dashboard is built only when missing or older than what it is built from.
dashboard: $(DASHBOARD)

$(DASHBOARD): $(NODE_STAMP) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build
	touch $@

# npm ci installs exactly the lock file, and only when the lock file changed.
$(NODE_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund
	touch $@

frontend-test: $(NODE_STAMP)
	cd $(FRONTEND) && npm test

# Browser tests drive Debian's Chromium; Playwright's own browser download fails here.
browser: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

lint: install
	$(BIN)/ruff check layers runtime functions tests bench localstack chaos

# bench/ is scripts run from their folder (python bench/run.py), not a package: its own pass.
typecheck: install
	$(BIN)/mypy
	MYPYPATH=layers/wallet:runtime:bench $(BIN)/mypy --strict --explicit-package-bases bench/*.py
	MYPYPATH=layers/wallet:runtime $(BIN)/mypy --strict --explicit-package-bases localstack/emulator.py
	MYPYPATH=layers/wallet:runtime $(BIN)/mypy --strict -p chaos

# template.yaml as AWS would take it: both linters, then sam build (infra/sam-build.mk), into a
# git-ignored folder.
template-lint: $(SAM_STAMP) install
	$(SAM_ENV) $(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint
	$(SAM_ENV) $(SAM_VENV)/bin/sam build --cached --build-dir $(SAM_BUILD_DIR) --cache-dir build/sam-cache

sam-install: $(SAM_STAMP)

$(SAM_STAMP): infra/requirements-sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	touch $@

emulator-install: $(EMULATOR_STAMP)

$(EMULATOR_STAMP): infra/requirements-emulator.txt
	$(PYTHON) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-emulator.txt
	touch $@

# ministack, Tansu and the Kafka feeder in the background, the machine's PostgreSQL (database
# wallet_emulator) and Redis (namespace wallet-emulator), template.yaml deployed; prints the
# URLs and an operator token and writes them to .wallet/emulator.json. Re-run to redeploy.
emulator: install emulator-install
	EMULATOR_PORT=$(EMULATOR_PORT) EMULATOR_KAFKA_PORT=$(EMULATOR_KAFKA_PORT) \
		$(BIN)/python localstack/emulator.py up

emulator-stop:
	@[ -x $(BIN)/python ] || exit 0; $(BIN)/python localstack/emulator.py down

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

browser-e2e: install dashboard browser
	$(BIN)/pytest tests/browser

# The embedded wallet, then the split topology, under the four loadtest/ scenarios, beside a
# hello-world, pgbench and the ledger engine measured in the same run; see docs/PERFORMANCE.md.
# Prints a table and writes bench-results/<UTC time>.json and .html.
BENCH_SECONDS ?= 20
BENCH_RESULTS ?= bench-results
bench: install pgbench
	$(BIN)/python bench/run.py --seconds $(BENCH_SECONDS) --results-dir $(BENCH_RESULTS)

# pgbench is the bench's database reference. Debian ships it with the server package, which
# this machine's PostgreSQL brings; a machine without it gets the default version's.
pgbench:
	@pgbench --version >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql; }

# What `make test` ends with: the whole bench at 5 s a step (under 2 minutes), checked only for
# having completed and written its file. Nothing asserts on time.
SMOKE_RESULTS := test-artifacts/bench-smoke
bench-smoke: install
	rm -rf $(SMOKE_RESULTS)
	$(MAKE) bench BENCH_SECONDS=5 BENCH_RESULTS=$(SMOKE_RESULTS)
	$(BIN)/python bench/check.py $(SMOKE_RESULTS)

# The bank test (chaos/, docs/RELIABILITY.md): clients, a nemesis and a checker, for DURATION
# seconds on each configuration (CONFIG=services|embedded|both). Prints a summary, writes
# chaos-results/<UTC time>.json, and fails on any violation.
DURATION ?= 120
CONFIG ?= both
CHAOS_RESULTS ?= chaos-results
CHAOS_FAULT_KINDS_MIN ?= 1
CHAOS_ARGS ?=
chaos: install
	$(BIN)/python -m chaos --duration $(DURATION) --config $(CONFIG) \
		--results-dir $(CHAOS_RESULTS) --min-fault-kinds $(CHAOS_FAULT_KINDS_MIN) $(CHAOS_ARGS)

# What `make test` ends with: 45 s on each configuration (about 2 minutes in all), a fault
# every 3 to 6 s, failing on any violation or on a nemesis that injected fewer than 2 kinds.
chaos-smoke: install
	$(MAKE) chaos DURATION=45 CONFIG=both CHAOS_RESULTS=test-artifacts/chaos-smoke \
		CHAOS_FAULT_KINDS_MIN=2 CHAOS_ARGS="--fault-gap 3 6"

clean:
	rm -rf $(VENV) $(EMULATOR_VENV) $(SAM_VENV) build .pytest_cache .mypy_cache .ruff_cache $(FRONTEND)/node_modules $(FRONTEND)/dist
