"""Seed drills, run for real as ``pytest features/ -k …`` runs them, read back from their reports.

* chat-rooms "High Error Rate Alert": the runbook's own alert (``Error Rate > 5%``, line 183) is an alerting rule in
  the sandbox's Prometheus; the report says it fired during the fault (after the bad release, before the runbook's
  rollback took effect) and resolved after recovery, with the times, in summary.json, summary.md and index.html.
* architect-api P1: step 5's PromQL curl (``curl http://prometheus:9090/api/v1/query --data-urlencode
  'query=rate(http_requests_total{status=~"5.."}[5m])'``) runs verbatim against the sandbox's Prometheus inside the
  drill, and its output holds real samples of the app's 5xx rate.

The verdicts are not asserted here (the game-day pin has them); what is proven is what the reports say about the
alert and the curl step. One pytest process runs both drills, as ``make gameday`` would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from drillbook.journal import AlertEvaluated, Note, StepFinished, read_journal

# Alone: each drill's verdict is asserted, and another worker's load would spoil its timing.
pytestmark = [pytest.mark.live, pytest.mark.timeout(1800), pytest.mark.alone]

ROOT = Path(__file__).resolve().parents[3]
RUN_ID = "prometheus-drills"


DRILLS = {("chat-rooms", "high-error-rate-alert"): "high_error_rate_alert", ("architect-api", "P1"): "p1_api"}
"""The drills this module reads, and the ``-k`` selecting each."""


def _run(reports: Path, run_id: str, keyword: str) -> Path:
    command = [
        sys.executable, "-m", "pytest", "features", "-q", "-p", "no:cacheprovider", "-k", keyword,
        f"--drillbook-reports={reports}", f"--drillbook-run-id={run_id}",
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=1700, env=dict(os.environ)
    )
    run = reports / run_id
    assert (run / "summary.json").is_file(), (
        f"the drills wrote no report:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    )
    return run


UNRUN = frozenset({"error", "invalid", "vacuous"})
"""Verdicts of a drill that stopped before its runbook's steps (a sandbox that did not come up, a baseline or a
breach the loaded machine spoiled): nothing to read, so such a drill is run once more."""


def _unrun(run: Path) -> list[str]:
    drills = json.loads((run / "summary.json").read_text())["drills"]
    seen = {(d["system"], d["incident_id"]): d["verdict"] for d in drills}
    return [keyword for key, keyword in DRILLS.items() if seen.get(key, "error") in UNRUN]


@pytest.fixture(scope="module")
def run_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The run, and a second one of the drills that stopped before their steps (the machine is shared: one
    bring-up or baseline spoiled by load must not decide this test; a second one does)."""
    reports = tmp_path_factory.mktemp("reports")
    first = _run(reports, RUN_ID, " or ".join(DRILLS.values()))
    again = _unrun(first)
    return [first, _run(reports, f"{RUN_ID}-again", " or ".join(again))] if again else [first]


def _drill(run_dirs: list[Path], system: str, incident_id: str) -> tuple[Path, dict[str, Any]]:
    """The drill's summary from the last run that has it, and that run's directory."""
    for run_dir in reversed(run_dirs):
        drills = json.loads((run_dir / "summary.json").read_text())["drills"]
        found = [d for d in drills if d["system"] == system and d["incident_id"] == incident_id]
        if found:
            drill: dict[str, Any] = found[0]
            assert drill["verdict"] not in UNRUN, f"twice stopped before its steps: {drill['reason']}"
            return run_dir, drill
    raise AssertionError(f"no {system}/{incident_id} drill in {run_dirs}")


def _step_end(run_dir: Path, drill_id: str, marker: str) -> StepFinished:
    steps = [
        e
        for e in read_journal(run_dir / "journal.jsonl")
        if isinstance(e, StepFinished) and e.drill == drill_id and marker in e.as_written
    ]
    assert steps, f"{drill_id} ran no command containing {marker!r}"
    return steps[0]


def test_the_chat_rooms_alert_fired_during_the_fault_and_resolved_after_recovery(run_dirs: list[Path]) -> None:
    run_dir, drill = _drill(run_dirs, "chat-rooms", "high-error-rate-alert")
    (alert,) = drill["alerts"]
    assert alert["name"] == "Error Rate"
    assert alert["line"] == 183
    assert alert["rule"] == "Error_Rate", "evaluated by Prometheus itself, not replayed"
    assert alert["outcome"] == "fired", alert["message"]
    rollback = _step_end(run_dir, drill["drill"], "rollout undo")
    assert rollback.exit_code == 0, rollback.output_excerpt
    fault_t, firing_t, resolved_t = alert["fault_t"], alert["firing_t"], alert["resolved_t"]
    assert fault_t is not None
    assert firing_t is not None
    notes = [
        e.message for e in read_journal(run_dir / "journal.jsonl") if isinstance(e, Note) and e.drill == drill["drill"]
    ]
    assert resolved_t is not None, (
        f"the alert was still firing when the drill read it (rollback at t={rollback.t:.1f} s): {notes}"
    )
    assert fault_t < alert["pending_t"] <= firing_t < rollback.t, "it fired under the fault, before the rollback"
    assert rollback.t < resolved_t, "it resolved only after the runbook's rollback"
    assert alert["peak"] > 5
    assert "alert-not-fired" not in drill["finding_kinds"]
    # The same facts, as people read them.
    markdown = (run_dir / "summary.md").read_text()
    row = next(line for line in markdown.splitlines() if line.startswith("| chat-rooms: ") and "Error Rate |" in line)
    assert "**fired and resolved**" in row
    assert f"t={firing_t:.1f} s (fault +{firing_t - fault_t:.1f} s)" in row
    assert f"t={resolved_t:.1f} s (fault +{resolved_t - fault_t:.1f} s)" in row
    html = (run_dir / "index.html").read_text()
    cell = html.split('<tr class="alert-row alert-fired">', 1)[1].split("</tr>", 1)[0]
    assert "Error Rate (line 183)" in cell
    assert f"<td>t={resolved_t:.1f} s (fault +{resolved_t - fault_t:.1f} s)</td>" in cell
    journaled = [e for e in read_journal(run_dir / "journal.jsonl") if isinstance(e, AlertEvaluated)]
    assert [e.drill for e in journaled].count(drill["drill"]) == 1
    rules = list((run_dir / "sandboxes").glob("chat-rooms-*/prometheus-rules.yml"))
    assert rules, "the rule file Prometheus evaluated is kept as evidence"
    assert "alert: Error_Rate" in rules[0].read_text()


def test_architect_p1s_promql_curl_step_ran_verbatim_in_the_drill_and_returned_real_samples(
    run_dirs: list[Path],
) -> None:
    run_dir, drill = _drill(run_dirs, "architect-api", "P1")
    curl = _step_end(run_dir, drill["drill"], "prometheus:9090")
    assert curl.as_written.startswith("curl http://prometheus:9090/api/v1/query")
    assert "--data-urlencode 'query=rate(http_requests_total{status=~\"5..\"}[5m])'" in curl.as_run
    assert "prometheus:9090" not in curl.as_run, "bound to the sandbox's Prometheus"
    assert curl.decision.value == "runs", curl.reason
    assert curl.exit_code == 0, curl.output_excerpt
    # The journal keeps 2000 characters of output (its middle cut when longer): read the samples it kept.
    out = curl.output_excerpt
    assert '{"status":"success","data":{"resultType":"vector","result":[{"metric":{' in out, out
    samples = [float(v) for v in re.findall(r'"value":\[\d+(?:\.\d+)?,"([^"]+)"\]', out)]
    assert samples, f"one series per app pod, route and 5xx status: {out}"
    assert '"job":"app"' in out
    assert any(v > 0 for v in samples), "the bad release's 5xx responses are in the 5 m rate"
