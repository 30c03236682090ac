# regmed — the two commands a new user types: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_OUT ?= demo-output

.PHONY: install system demo test test-fast lint typecheck slow bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# System services and programs the tests need (PostgreSQL, Chromium, poppler); installs them when missing.
system:
	bash scripts/ensure_system.sh

# Installs Chromium for the PDF where it can (root or sudo); without it the demo writes HTML.
demo: install
	-bash scripts/ensure_system.sh --pdf-only
	$(BIN)/regmed demo --out $(DEMO_OUT)

lint: install
	$(BIN)/ruff check src tests benchmarks

typecheck: install
	$(BIN)/mypy src

test: install system lint typecheck
	$(BIN)/pytest -q -n auto

test-fast: install
	$(BIN)/pytest -q -x

slow: install system
	$(BIN)/pytest -q -m slow

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
