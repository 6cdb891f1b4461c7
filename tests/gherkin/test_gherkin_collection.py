"""A drill naming an unknown system, fault, incident or step fails at collection, with the file, line and what
exists — before anything is provisioned."""

from __future__ import annotations

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
