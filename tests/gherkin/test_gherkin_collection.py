"""A drill naming an unknown system, fault, incident or step fails at collection, with the file, line and what
exists — before anything is provisioned."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.live

ROOT = Path(__file__).resolve().parents[2]

BAD = """\
Feature: bad names
  Scenario: wrong names
    Given the "azoraa" system is running on the local platform
    When the "pool-exhaustio" fault is injected
    Then the SLOs of incident "RB-007" are breached within 30 seconds

  Scenario: wrong incident and step
    Given the "zephyr-voting" system is running on the local platform
    And the drill supplies `kubectl scale deployment/redis --replicas=1` for step 4
    When the operator follows incident "Incident 3"
    Then the SLOs of incident "Incident 9" are breached within 30 seconds
"""


def test_bad_names_fail_collection_with_file_line_and_what_exists(tmp_path: Path) -> None:
    (tmp_path / "bad.feature").write_text(BAD)
    (tmp_path / "test_bad.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "--co", "-q", "-p", "no:cacheprovider",
         f"--drillbook-scenarios={ROOT / 'scenarios'}", f"--rootdir={tmp_path}"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "bad.feature:3: unknown system 'azoraa'; available systems" in output
    assert "zephyr-voting" in output
    assert "bad.feature:4: unknown fault 'pool-exhaustio'; available faults: bad-release" in output
    assert "bad.feature:9: incident Incident-3 has no step 4; its steps are 1, 2, 3" in output
    assert "bad.feature:11: no incident 'Incident 9' in zephyr-voting's runbook; it has: Incident-1" in output


SHOP_RUNBOOK = """\
# Shop runbook

## Incident: Checkout is slow

**Time to Resolve**: 15 minutes

Someone should look at the dashboards and restart things if needed.
"""

TYPOS = """\
Feature: typos and an incident with nothing to run
  Scenario: typo
    Given the "azora" system is running on the local platform
    And steady trafic of 10 users
    When a leaking worker exhausts the database conections
    Then the SLOs of incident "RB-007" are breached within 30 seconds

  Scenario: nothing to run
    Given the "shop" system is running on the local platform
    When the operator follows incident "incident-checkout-is-slow"
"""


def _collect(tmp_path: Path, *args: str, scenarios: Path | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text("from steps.seed import *  # noqa: F403\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(tmp_path), "--co", "-q", "-p", "no:cacheprovider",
         f"--drillbook-scenarios={scenarios or ROOT / 'scenarios'}", f"--rootdir={tmp_path}", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_a_typo_and_an_incident_with_nothing_to_run_fail_collection_with_the_fix(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    (scenarios / "shop").mkdir(parents=True)
    (scenarios / "shop" / "runbook.md").write_text(SHOP_RUNBOOK)
    (scenarios / "azora").symlink_to(ROOT / "scenarios" / "azora")
    (tmp_path / "typos.feature").write_text(TYPOS)
    (tmp_path / "test_typos.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    done = _collect(tmp_path, scenarios=scenarios)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "typos.feature:4: no step matches 'Given steady trafic of 10 users'" in output
    assert "Given steady traffic of <N> users" in output
    assert "typos.feature:5: no step matches 'When a leaking worker exhausts the database conections'" in output
    assert "When a leaking worker exhausts the database connections" in output
    assert "typos.feature:10: incident incident-checkout-is-slow cannot be judged: it was read with 0 steps" in output
    assert "runbook.md:3: no-steps:" in output
    assert "fix: number the steps" in output
    assert "Traceback" not in output


def test_an_incident_id_as_the_runbook_writes_it_selects_its_drill(tmp_path: Path) -> None:
    (tmp_path / "test_seed.py").write_text(f'from pytest_bdd import scenarios\n\nscenarios("{ROOT / "features"}")\n')
    done = _collect(tmp_path, "-k", "RB-007")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_rb007_restores_the_api_after_the_database_connection_pool_is_exhausted" in done.stdout
    assert "1/20 tests collected (19 deselected)" in done.stdout


def test_a_feature_file_selects_only_its_drills(tmp_path: Path) -> None:
    (tmp_path / "test_seed.py").write_text(f'from pytest_bdd import scenarios\n\nscenarios("{ROOT / "features"}")\n')
    done = _collect(tmp_path, f"--drillbook-feature={ROOT / 'features' / 'azora.feature'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "7/20 tests collected (13 deselected)" in done.stdout
    assert "test_rb007" in done.stdout
    assert "incident_3" not in done.stdout
