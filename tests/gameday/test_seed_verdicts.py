"""The seed game day's verdicts are pinned: a change to drillbook that flips one is seen here.

Runs every drill in ``features/`` (in its own pytest process, as ``make gameday`` does) and compares each drill's
verdict and the gist of its reason with what the five seed runbooks honestly earn today. A drill whose verdict
differs is run once more on its own before the test fails: the sandbox shares two cores with everything else, and
one unlucky run must not hide or fake a change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# The whole game day runs in this module's fixture: far longer than the suite's per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.gameday, pytest.mark.timeout(3600)]

ROOT = Path(__file__).resolve().parents[2]

Key = tuple[str, str]

# (system, incident id) -> (verdict, a fragment its reason must contain, pytest -k selecting the drill)
EXPECTED: dict[Key, tuple[str, str, str]] = {
    # The operator's own psql cannot get a connection either: the app's role is a superuser, so the leak took the
    # reserved slots too — and the kill filter only matches connections idle for 10 minutes.
    ("azora", "RB-007"): ("failed", "step 3 (Kill Idle Connections) exited 2", "rb007"),
    # A real API server refuses restartPolicy OnFailure for a Deployment; step 7 then needs helm.
    ("azora", "RB-003"): ("failed", "step 6 (Increase Restart Delay) exited 1", "rb003"),
    ("azora", "RB-006"): ("passed", "restored after", "rb006"),
    # pg_stat_statements.mean_time was renamed mean_exec_time in PostgreSQL 13.
    ("azora", "RB-008"): ("failed", 'column "mean_time" does not exist', "rb008"),
    ("zephyr-voting", "Incident-2"): ("failed", "step 3 (Check Database Load) exited 2", "incident_2"),
    # "Restart Redis service" is prose under Mitigation: nothing in the runbook brings Redis back.
    ("zephyr-voting", "Incident-3"): ("failed", "were not restored", "incident_3"),
    ("zephyr-voting", "Incident-5"): ("failed", "docker acts on the host's containers", "incident_5"),
    ("chat-rooms", "high-error-rate-alert"): (
        "failed",
        "step 5 (Check database connectivity) needs a tool",
        "high_error",
    ),
    # Diagnostics only; "Restart deployment if needed" is prose.
    ("phase5-todo", "PodCrashLooping"): ("failed", "were not restored", "podcrashlooping"),
    ("architect-api", "database-connection-exhaustion"): ("failed", "step 2 (Fix) exited 2", "database_connection"),
    # `kubectl logs <pod>` without -n looks in the default namespace.
    ("architect-api", "pods-not-starting"): ("failed", 'not found in namespace "default"', "pods_not_starting"),
    ("architect-api", "P3"): ("failed", 'column "mean_time" does not exist', "p3_high"),
}


def _run(reports: Path, run_id: str, keyword: str | None = None) -> dict[Key, dict[str, Any]]:
    command = [
        sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
        f"--drillbook-reports={reports}", f"--drillbook-run-id={run_id}",
    ]  # fmt: skip
    if keyword:
        command += ["-k", keyword]
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=dict(os.environ)
    )
    summary = reports / run_id / "summary.json"
    assert summary.is_file(), f"the game day wrote no summary:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    drills = json.loads(summary.read_text())["drills"]
    return {(d["system"], d["incident_id"]): d for d in drills}


def _matches(drill: dict[str, Any], expected: tuple[str, str, str]) -> bool:
    verdict, fragment, _ = expected
    return bool(drill["verdict"] == verdict and fragment in drill["reason"])


@pytest.fixture(scope="module")
def game_day(tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    reports = tmp_path_factory.mktemp("reports")
    results = _run(reports, "pinned")
    flipped = [key for key, expected in EXPECTED.items() if key in results and not _matches(results[key], expected)]
    if flipped:
        keyword = " or ".join(EXPECTED[key][2] for key in flipped)
        results |= _run(reports, "pinned-again", keyword)
    return results


def test_every_seed_drill_ran(game_day: dict[Key, dict[str, Any]]) -> None:
    assert set(game_day) == set(EXPECTED)


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()), ids=str)
def test_seed_drill_verdict_is_pinned(
    game_day: dict[Key, dict[str, Any]], key: Key, expected: tuple[str, str, str]
) -> None:
    drill = game_day[key]
    assert _matches(drill, expected), f"{key}: {drill['verdict']}: {drill['reason']}"
