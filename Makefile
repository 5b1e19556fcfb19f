# roster enrichment - every target bootstraps .venv from the lock file first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS ?= 180
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: run test lint typecheck check bench bench-smoke samples clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

## run: enrich sample_data/ into ./out (Delta tables, manifest, data dictionary)
run: $(STAMP)
	$(BIN)/roster enrich sample_data --out $(OUT)

## test: the whole test suite (what CI runs)
test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check flows transforms schemas tests bench sample_data
	$(BIN)/ruff format --check flows transforms schemas tests bench sample_data

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

lock:
	$(PYTHON) -m pip install --quiet uv && $(PYTHON) -m uv pip compile pyproject.toml --extra dev -o requirements.lock --python-version 3.11

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
