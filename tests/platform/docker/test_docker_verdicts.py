"""Seed drills give the same verdict classes on docker as on local (slow: a few real drills on each platform).

The drills chosen act through the network or the app, which both platforms share; drills whose fault or runbook
acts on the datastore's pod (``kubectl exec deploy/postgres``, scaling ``deployment/redis``) differ by design on
docker, where the datastore is a container outside the cluster, as a managed database is.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from drillbook.platform.docker import EngineHandle

pytestmark = [pytest.mark.docker, pytest.mark.live, pytest.mark.gameday]

REPO = Path(__file__).resolve().parents[3]
DRILLS = "incident_2_restores_the_api_when_the_database or rollback_procedure_undoes_a_release"
"""zephyr-voting: a PostgreSQL partition through the fault proxy, and a bad release rolled back."""


def verdicts(platform: str, reports: Path) -> dict[str, str]:
    """Drill → verdict of one game day over DRILLS on ``platform``."""
    subprocess.run(
        [sys.executable, "-m", "drillbook", "gameday", "--platform", platform, "-k", DRILLS,
         "--reports", str(reports / platform)],
        cwd=REPO, capture_output=True, timeout=900, check=False,
    )  # fmt: skip
    summary = reports / platform / "latest" / "summary.json"
    drills = json.loads(summary.read_text())["drills"]
    return {d["drill"]: d["verdict"] for d in drills}


def test_seed_drills_on_docker_give_the_verdict_classes_of_local(docker_engine: EngineHandle) -> None:
    with tempfile.TemporaryDirectory(prefix="drillbook-verdicts-") as tmp:
        local = verdicts("local", Path(tmp))
        docker = verdicts("docker", Path(tmp))
    assert len(local) == 2
    assert docker == local
