"""The seed game day's verdicts are pinned: a change to drillbook that flips one is seen here.

Runs every drill in ``features/`` (in its own pytest process, as ``make gameday`` does) and compares each drill's
verdict class and the kinds of its runbook findings with what the five seed runbooks honestly earn today (see
``../shared/research/seed-verdict-audit-2026-12.md`` for why each is what it is). A drill whose verdict differs is
run once more on its own before the test fails: the sandbox shares two cores with everything else, and one unlucky
run must not hide or fake a change.

``no-effect`` findings depend on how quickly the SLOs move after each step, so they may come and go; every other
finding kind is pinned exactly.
"""

from __future__ import annotations

from typing import Any

import pytest
from seed_pins import EXPECTED, Expected, Key, matches, run_game_day

# The whole game day runs in this module's fixture: far longer than the suite's per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.gameday, pytest.mark.timeout(5400)]


@pytest.fixture(scope="module")
def game_day(tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    reports = tmp_path_factory.mktemp("reports")
    results = run_game_day(reports, "pinned")
    flipped = [key for key, expected in EXPECTED.items() if key in results and not matches(results[key], expected)]
    if flipped:
        keyword = " or ".join(EXPECTED[key][2] for key in flipped)
        results |= run_game_day(reports, "pinned-again", keyword)
    return results


def test_every_seed_drill_ran(game_day: dict[Key, dict[str, Any]]) -> None:
    assert set(game_day) == set(EXPECTED)


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()), ids=str)
def test_seed_drill_verdict_is_pinned(game_day: dict[Key, dict[str, Any]], key: Key, expected: Expected) -> None:
    drill = game_day[key]
    kinds = sorted(drill.get("finding_kinds", []))
    assert matches(drill, expected), f"{key}: {drill['verdict']} {kinds}: {drill['reason']}"
