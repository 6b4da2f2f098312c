# The two commands the README promises: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck sync-check docs unit upstream browser bench soak fuzz sync clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.docs-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[docs]'
	touch $@

# Flask's and Django's own test suites (from their sdists), run against our adapters.
upstream: $(VENV)/.dev-installed
	$(BIN)/python -m tests.upstream.suites

PORT ?= 8000
STORE ?= sqlite:///sojourn-demo.db
demo: $(VENV)/.demo-installed
	$(BIN)/sojourn demo --port '$(PORT)' --store '$(STORE)'

# The browser tests (tests/browser) drive Debian's Chromium through Playwright: installed from
# Debian's packages when missing (as root, as CI runs), never a browser download.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver; \
	  else \
	    echo "$(CHROMIUM) is missing: run 'sudo apt-get install -y chromium chromium-driver'" \
	      "(without it the browser tests skip, and fail when CI=true)"; \
	  fi; \
	fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

sync-check: $(VENV)/.dev-installed
	$(BIN)/python scripts/unasync.py --check

# The documentation site (MkDocs + Material, the API reference generated from __all__) into
# site/, warnings as errors. make test builds it once and hands it to tests/docs/test_reference.py.
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

unit: $(VENV)/.dev-installed upstream browser
	$(BIN)/python -m pytest

test: export SOJOURN_DOCS_SITE := $(CURDIR)/site
test: lint typecheck sync-check docs unit

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
