# drillbook: `make gameday` runs the seed game day and writes reports; `make test` runs the test suite.
# Both install what they need: Debian packages (as root) and a .venv with the project.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
REPORTS ?= reports

.PHONY: all install sysdeps lint test test-fast test-live test-gameday soak-tests gameday bench clean

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

# Test tiers (tests/conftest.py enforces them): unit (no processes, servers or sleeps; parallel), live (real
# PostgreSQL/Redis/localkube/locust/proxy), docker/browser, and the game-day pin. The live tier runs on LIVE_JOBS
# workers, a module whole on one of them (its order and fixtures as in a serial run); a test marked `alone` (it
# loads the machine or times a drill's verdict) waits until no other live test runs.
UNIT := not live and not docker and not browser and not gameday
LIVE := (live or docker or browser) and not gameday
JOBS ?= auto
LIVE_JOBS ?= 2
LIVE_ARGS := -n $(LIVE_JOBS) --dist loadscope --durations=40
SOAK ?= 5

# `make test` (and CI) runs lint, the unit tier and the live tier; the game-day pin is `make test-gameday` (about
# 25 minutes on 2 cores: see README, "Tests").
test: install lint
	$(BIN)/pytest tests -m "$(UNIT)" -n $(JOBS)
	$(BIN)/pytest tests -m "$(LIVE)" $(LIVE_ARGS)

test-fast: install
	$(BIN)/pytest tests -m "$(UNIT)" -n $(JOBS)

test-live: install
	$(BIN)/pytest tests -m "$(LIVE)" $(LIVE_ARGS)

test-gameday: install
	$(BIN)/pytest tests -m gameday

# Runs the live tier SOAK times and prints how often each test passed: a flaky test shows as 4/5.
soak-tests: install
	$(PY) scripts/soak-tests --runs $(SOAK) -- tests -m "$(LIVE)" $(LIVE_ARGS)

gameday: install
	$(BIN)/drillbook gameday --reports $(REPORTS)

bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
