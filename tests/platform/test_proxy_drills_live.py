"""Network faults through the fault proxy, as whole drills, on ``local`` and on ``docker``.

zephyr-voting's Incident 2 ("Database Connection Issues") is drilled twice per platform: PostgreSQL partitioned
from the app, and every PostgreSQL reply delayed by a second. Both go through the fault proxy that every sandbox
puts in front of its datastores. Incident 2's remedy is prose, so the honest verdict is *failed*; what this test
holds is that the fault was injected through the proxy, breached the SLOs, was judged, and was reverted (never an
error, vacuous or invalid drill).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from drillbook.platform.docker import EngineHandle

pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
FEATURE = """\
Feature: Network faults through the fault proxy, as drills (zephyr-voting)

  Background:
    Given the "zephyr-voting" system is running on the local platform
    And steady traffic of 10 users

  Scenario: Incident 2 under a partition of PostgreSQL
    When PostgreSQL is cut off from the app by a network partition
    Then the SLOs of incident "Incident 2" are breached within 30 seconds
    When the operator follows incident "Incident 2"
    Then the SLOs are restored within the incident's time target

  Scenario: Incident 2 under PostgreSQL latency
    Given the drill measures "p95 latency < 500ms"
    When every PostgreSQL reply is delayed by a second
    Then the SLOs of incident "Incident 2" are breached within 30 seconds
    When the operator follows incident "Incident 2"
    Then the SLOs are restored within the incident's time target
"""


def _game_day(tmp_path: Path, platform: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    drills = tmp_path / "drills"
    drills.mkdir()
    (drills / "proxy.feature").write_text(FEATURE)
    (drills / "test_proxy.py").write_text('from pytest_bdd import scenarios\n\nscenarios("proxy.feature")\n')
    (drills / "conftest.py").write_text("from steps.seed import *  # noqa: F403\n")
    reports = tmp_path / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "drillbook", "gameday", str(drills), "--platform", platform, "--reports", str(reports)],
        cwd=REPO, capture_output=True, text=True, timeout=840, check=False,
    )  # fmt: skip
    summary = reports / "latest" / "summary.json"
    assert summary.is_file(), f"no report:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    journal = [json.loads(line) for line in (reports / "latest" / "journal.jsonl").read_text().splitlines()]
    return json.loads(summary.read_text())["drills"], journal


def _assert_rehearsed_through_the_proxy(drills: list[dict[str, object]], journal: list[dict[str, object]]) -> None:
    by_fault = {d["fault"]: d for d in drills}
    assert set(by_fault) == {"partition", "latency"}, drills
    for fault, drill in by_fault.items():
        assert drill["verdict"] == "failed", f"{fault}: {drill['verdict']}: {drill['reason']}"
        assert "not attempted: the runbook gives no executable remedy" in str(drill["reason"]), drill["reason"]
    kinds = [str(e.get("type") or e.get("event")) for e in journal]
    assert kinds.count("fault_injected") == 2, kinds
    assert kinds.count("fault_reverted") == 2, kinds
    breached = {str(e["drill"]) for e in journal if e.get("type") == "slo_breached"}
    assert breached == {str(d["drill"]) for d in drills}, "each fault must breach the SLOs through the proxy"


def test_partition_and_latency_drills_run_through_the_proxy_on_local(tmp_path: Path) -> None:
    _assert_rehearsed_through_the_proxy(*_game_day(tmp_path, "local"))


@pytest.mark.docker
def test_partition_and_latency_drills_run_through_the_proxy_on_docker(
    docker_engine: EngineHandle, tmp_path: Path
) -> None:
    _assert_rehearsed_through_the_proxy(*_game_day(tmp_path, "docker"))
