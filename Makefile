# Consentry: `make run` starts the server, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-fast bench bench-quick lint clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(STAMP)
	$(BIN)/consentry serve

system-deps:
	@scripts/system-deps.sh

test: $(TEST_STAMP) system-deps
	@scripts/run-tests.sh

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not e2e and not interop" -x

bench: $(TEST_STAMP)
	$(BIN)/consentry bench

bench-quick: $(TEST_STAMP)
	$(BIN)/consentry bench --quick

lint: $(TEST_STAMP)
	$(BIN)/ruff check consentry tests
	$(BIN)/ruff format --check consentry tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
