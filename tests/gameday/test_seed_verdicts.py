"""The seed game day's verdicts are pinned: a change to drillbook that flips one is seen here.

Runs every drill in ``features/`` once (in its own pytest process, as ``make gameday`` does) and compares each
drill's verdict and the gist of its reason with what the five seed runbooks honestly earn today.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.gameday]

ROOT = Path(__file__).resolve().parents[2]

# (system, incident id) -> (verdict, a fragment the reason must contain)
EXPECTED: dict[tuple[str, str], tuple[str, str]] = {}


@pytest.fixture(scope="module")
def game_day(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    reports = tmp_path_factory.mktemp("reports")
    command = [
        sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
        f"--drillbook-reports={reports}", "--drillbook-run-id=pinned",
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=1500, env=dict(os.environ)
    )
    summary = reports / "pinned" / "summary.json"
    assert summary.is_file(), f"the game day wrote no summary:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    drills = json.loads(summary.read_text())["drills"]
    return {(d["system"], d["incident_id"]): d for d in drills}


def test_every_seed_drill_ran(game_day: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert set(game_day) == set(EXPECTED)


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()), ids=str)
def test_seed_drill_verdict_is_pinned(
    game_day: dict[tuple[str, str], dict[str, Any]], key: tuple[str, str], expected: tuple[str, str]
) -> None:
    drill = game_day[key]
    verdict, fragment = expected
    assert (drill["verdict"], fragment in drill["reason"]) == (verdict, True), drill["reason"]
