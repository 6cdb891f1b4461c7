"""The seed game day's pinned verdicts: what the five seed runbooks honestly earn today, drill by drill.

Read by ``test_seed_verdicts.py`` (the game day on ``local``) and ``test_docker_verdicts.py`` (the same game day on
``docker``). See ``../shared/research/seed-verdict-audit-2026-12.md`` for why each is what it is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

Key = tuple[str, str]
Expected = tuple[str, frozenset[str], str]

TIMING_DEPENDENT = frozenset({"no-effect", "alert-not-fired", "alert-no-data", "alert-unchecked"})
"""Finding kinds that depend on how fast the SLOs move after a step, not on what the runbook says. The alert kinds
(whether the runbook's alert fired in a compressed drill) never count and are proven by
``tests/platform/prometheus/test_prometheus_drill_live.py``, not pinned here."""

# (system, incident id) -> (verdict, the finding kinds it carries, pytest -k selecting the drill)
EXPECTED: dict[Key, Expected] = {}  # filled in below from the reviewed game day


def _pin(system: str, incident: str, verdict: str, kinds: str, keyword: str) -> None:
    EXPECTED[(system, incident)] = (verdict, frozenset(kinds.split()), keyword)


# Reviewed against the audit, drill by drill (verdict, then why).
# architect-api: the Fix's 10-minute filter cannot match a leak seconds old; the sandbox says so (not the runbook).
_pin("architect-api", "database-connection-exhaustion", "inconclusive", "not-rehearsable", "database_connection")
# Diagnostics only, and `kubectl logs <pod>` without -n.
_pin("architect-api", "pods-not-starting", "failed", "stale-command", "pods_not_starting")
# mean_time (PostgreSQL 13 renamed it); the drill supplies the Common Tasks scale-out for the prose step 4. With an
# 8x spike the 2 cores decided (inconclusive: machine out of CPU); a 2x spike still breaches 3 replicas steadily.
_pin("architect-api", "P3", "passed_with_findings", "missing-tool prose-only stale-command", "p3_high")
# "Scale or restart" keeps the bad release; no rollback. The external dependency check is not run.
_pin("architect-api", "P2", "failed", "blocked-by-policy", "p2_high")
_pin("architect-api", "P1", "passed", "", "p1_api")
# The leak lives in the app: the runbook's restart releases it. The kill filter needs 10 min of age.
_pin("azora", "RB-007", "passed", "not-rehearsable prose-only", "rb007")
# restartPolicy OnFailure is invalid for a Deployment; the real fix (helm rollback) cannot be rehearsed.
_pin("azora", "RB-003", "failed", "invalid-action missing-tool prose-only", "rb003")
_pin("azora", "RB-006", "passed", "prose-only", "rb006")
# Restored by its CREATE INDEX (without CONCURRENTLY: harmful); mean_time is stale in steps 1 and 6.
_pin("azora", "RB-008", "passed_with_findings", "harmful prose-only stale-command", "rb008")
# The rollback is helm: not rehearsable here.
_pin("azora", "RB-002", "inconclusive", "missing-tool prose-only", "rb002")
# The remedy is prose; mean_time again.
_pin("azora", "RB-004", "failed", "prose-only stale-command", "rb004")
# Step 6's restart restores service against a leak still in the build, as RB-007's does against its connection
# leak; the reason says the leaking build is still deployed and whether the restore lasts was not rehearsed
# (it was inconclusive while a restore had to outlast the fault's onset, c93711d).
_pin("azora", "RB-005", "passed", "prose-only", "rb005")
_pin("chat-rooms", "high-error-rate-alert", "passed", "missing-tool", "high_error_rate_alert")
# The runbook's resolution is prose; the drill supplies the rollback it keeps in another section.
_pin("phase5-todo", "PodCrashLooping", "passed_with_findings", "prose-only", "podcrashlooping")
_pin("phase5-todo", "HighErrorRate", "passed_with_findings", "prose-only", "higherrorrate")
_pin("phase5-todo", "DatabaseConnectionFailed", "failed", "prose-only", "databaseconnectionfailed")
# A partition: the Mitigation for an unreachable database is prose.
_pin("zephyr-voting", "Incident-2", "failed", "prose-only", "incident_2")
# "Restart Redis service" is prose; the drill restarts Redis and the app reconnects by itself, as claimed.
_pin("zephyr-voting", "Incident-3", "passed_with_findings", "prose-only", "incident_3")
_pin("zephyr-voting", "Incident-5", "passed", "prose-only", "incident_5")
_pin("zephyr-voting", "rollback-procedure", "passed", "missing-tool prose-only", "rollback_procedure")


def run_game_day(
    reports: Path, run_id: str, keyword: str | None = None, platform: str = "local"
) -> dict[Key, dict[str, Any]]:
    """Every drill in ``features/`` (or those ``keyword`` selects) in its own pytest process, as ``make gameday``
    runs them: (system, incident id) -> the drill's summary entry."""
    command = [
        sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider",
        f"--drillbook-reports={reports}", f"--drillbook-run-id={run_id}", f"--drillbook-platform={platform}",
    ]  # fmt: skip
    if keyword:
        command += ["-k", keyword]
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=3600, env=dict(os.environ)
    )
    summary = reports / run_id / "summary.json"
    assert summary.is_file(), f"the game day wrote no summary:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    drills = json.loads(summary.read_text())["drills"]
    return {(d["system"], d["incident_id"]): d for d in drills}


def matches(drill: dict[str, Any], expected: Expected) -> bool:
    """The drill has the pinned verdict class and finding kinds (timing-dependent kinds aside)."""
    verdict, kinds, _ = expected
    seen = set(drill.get("finding_kinds", []))
    return bool(drill["verdict"] == verdict and seen - TIMING_DEPENDENT == kinds - TIMING_DEPENDENT)
