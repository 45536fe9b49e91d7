# Two commands matter: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run run-services test install lint typecheck unit integration e2e bench bench-services clean

run: install
	$(BIN)/wallet serve

# The split topology: 2 gateways, 2 consumers and 1 relay on Kafka (a local Tansu unless
# WALLET_KAFKA_BOOTSTRAP is set), PostgreSQL and Redis. See docs/ARCHITECTURE.md.
run-services: install
	$(BIN)/wallet services

test: install lint typecheck
	$(BIN)/pytest

install: $(STAMP)

# Re-installs whenever pyproject.toml changes, so a pulled dependency is never missing.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check layers functions tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

# Prints throughput and latency figures from k6 against a fresh embedded stack.
bench: install
	$(BIN)/python bench/run.py

# The same load across both gateways of the split topology (a fresh database and namespace).
bench-services: install
	$(BIN)/python bench/run.py --services

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
