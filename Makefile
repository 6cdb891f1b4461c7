# drillbook: `make gameday` runs the seed game day and writes reports; `make test` runs the test suite.
# Both install what they need: Debian packages (as root) and a .venv with the project.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
REPORTS ?= reports

.PHONY: all install sysdeps lint test test-fast gameday bench clean

all: test

sysdeps:
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

install: sysdeps $(VENV)/.installed

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench steps fixtures features
	$(BIN)/ruff format --check src tests bench steps fixtures features
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install lint
	$(BIN)/pytest tests

test-fast: install
	$(BIN)/pytest tests -m "not slow"

gameday: install
	$(BIN)/drillbook gameday --reports $(REPORTS)

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
