# roster enrichment - every target bootstraps .venv from the lock files first:
# `make run` needs only the runtime pins (requirements.lock); test, lint, typecheck and bench
# add the dev tools (requirements-dev.lock).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
OUT ?= out
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: run test lint typecheck check bench bench-smoke samples server lock clean

$(RUNTIME): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements-dev.lock
	$(PIP) -r requirements-dev.lock
	touch $(STAMP)

## run: enrich sample_data/ into ./out (Delta tables, manifest, data dictionary, report)
run: $(RUNTIME)
	$(BIN)/roster enrich sample_data --out $(OUT)

## test: the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check flows adapters transforms schemas tests bench sample_data
	$(BIN)/ruff format --check flows adapters transforms schemas tests bench sample_data
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

## bench: 1M and 10M rows, pipeline vs the shared reference scripts -> bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py --sizes 1m,10m

bench-smoke: $(STAMP)
	$(BIN)/python bench/run_bench.py --sizes 100k --runs 1 --results /tmp/roster-bench-smoke.md

## samples: regenerate the files in sample_data/
samples: $(STAMP)
	$(BIN)/python sample_data/make_samples.py

## server: a local Prefect API for ad-hoc runs (then: export PREFECT_API_URL=http://127.0.0.1:4200/api)
server: $(RUNTIME)
	$(BIN)/prefect server start --host 127.0.0.1 --port 4200

lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml -o requirements.lock --python-version 3.11
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
