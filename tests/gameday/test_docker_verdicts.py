"""The seed game day on ``docker`` gives the verdicts pinned for ``local`` (slow: the whole game day, on docker).

``docker`` keeps localkube as the cluster and moves PostgreSQL and Redis into testcontainers containers behind the
fault proxy; their Deployments stay, as handles on the containers (``platform/docker/handle.py``), so a drill that
scales, restarts or deletes a datastore acts on its container. Every drill must give local's verdict class and
finding kinds.

A drill whose verdict differs is run once more on its own before the test fails, as the local pin does.
"""

from __future__ import annotations

from typing import Any

import pytest
from seed_pins import EXPECTED, Expected, Key, matches, run_game_day

pytestmark = [pytest.mark.slow, pytest.mark.gameday, pytest.mark.docker, pytest.mark.timeout(5400)]


@pytest.fixture(scope="module")
def game_day(docker_engine: object, tmp_path_factory: pytest.TempPathFactory) -> dict[Key, dict[str, Any]]:
    reports = tmp_path_factory.mktemp("reports-docker")
    results = run_game_day(reports, "docker", platform="docker")
    flipped = [key for key in EXPECTED if key in results and not matches(results[key], EXPECTED[key])]
    if flipped:
        keyword = " or ".join(EXPECTED[key][2] for key in flipped)
        results |= run_game_day(reports, "docker-again", keyword, platform="docker")
    return results


def test_every_seed_drill_ran_on_docker(game_day: dict[Key, dict[str, Any]]) -> None:
    assert set(game_day) == set(EXPECTED)


@pytest.mark.parametrize(("key", "expected"), sorted(EXPECTED.items()), ids=str)
def test_seed_drill_on_docker_gives_locals_pinned_verdict(
    game_day: dict[Key, dict[str, Any]], key: Key, expected: Expected
) -> None:
    drill = game_day[key]
    kinds = sorted(drill.get("finding_kinds", []))
    assert matches(drill, expected), f"{key} on docker: {drill['verdict']} {kinds}: {drill['reason']}"
