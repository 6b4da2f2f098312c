# The two commands the README promises: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck sync-check unit upstream bench soak fuzz sync clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Flask's and Django's own test suites (from their sdists), run against our adapters.
upstream: $(VENV)/.dev-installed
	$(BIN)/python -m tests.upstream.suites

demo: $(VENV)/.demo-installed
	$(BIN)/sojourn demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

sync-check: $(VENV)/.dev-installed
	$(BIN)/python scripts/unasync.py --check

unit: $(VENV)/.dev-installed upstream
	$(BIN)/python -m pytest

test: lint typecheck sync-check unit

# Long runs on demand (README, "Long runs"): mixed load through uvicorn on SQLite and Redis,
# and hostile inputs through the parsers, transports and every adapter.
MINUTES ?= 2
soak: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.soak --minutes $(MINUTES)

N ?= 100000
fuzz: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.fuzz -n $(N)

sync: $(VENV)/.dev-installed
	$(BIN)/python scripts/unasync.py

bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
