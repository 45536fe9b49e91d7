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

.PHONY: run run-services test install dashboard frontend-test browser lint typecheck \
	unit integration e2e browser-e2e bench bench-smoke pgbench clean

run: install dashboard
	$(BIN)/wallet serve

# The split topology: 2 gateways, 2 consumers and 1 relay on Kafka (a local Tansu unless
# WALLET_KAFKA_BOOTSTRAP is set), PostgreSQL and Redis. See docs/ARCHITECTURE.md.
run-services: install dashboard
	$(BIN)/wallet services

test: install lint typecheck dashboard frontend-test browser
	$(BIN)/pytest
	$(MAKE) bench-smoke

install: $(STAMP)

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
	$(BIN)/ruff check layers runtime functions tests bench

# bench/ is scripts run from their folder (python bench/run.py), not a package: its own pass.
typecheck: install
	$(BIN)/mypy
	MYPYPATH=layers/wallet:runtime:bench $(BIN)/mypy --strict --explicit-package-bases bench/*.py

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(FRONTEND)/node_modules $(FRONTEND)/dist
