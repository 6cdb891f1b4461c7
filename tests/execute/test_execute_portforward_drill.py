"""A runbook step that port-forwards a service runs verbatim in a real drill, and the next step's curl reaches it.

Live: a real game day over one drill on the local platform (localkube, the real kubectl, the azora stand-in with
its PostgreSQL and Redis), with a runbook written the way teams write one: port-forward the gateway, curl it on
localhost in the next step, roll the release back. (Step 1 waits for the fault's own rollout to settle, as a
team would: kubectl forwards to one pod, chosen when it starts, and a pod the rollout is replacing takes the
forward down with it, for real as here.) Afterwards no port-forward is left running and its port is free.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.execute import containment
from drillbook.journal import Decision, Note, StepFinished, VerdictReached, read_journal

pytestmark = [
    pytest.mark.live,
    pytest.mark.timeout(900),
    pytest.mark.skipif(bool(containment.why_not_contained()), reason="steps cannot be contained here"),
]

REPO = Path(__file__).resolve().parents[2]

RUNBOOK = """\
# Azora API gateway: operations

## RB-101: High error rate after a release

**Symptoms**:
- Error rate > 1%
- Users reporting failures after a deploy

**Time to Resolve**: 10 minutes

**Steps**:

1. **Wait for the rollout in progress to settle**
   ```bash
   kubectl rollout status deployment/api-gateway -n production
   ```

2. **Forward the gateway to your machine**
   ```bash
   kubectl port-forward -n production svc/api-gateway {port}:8080
   ```

3. **Check the gateway answers through the forward**
   ```bash
   curl -s http://localhost:{port}/api/health
   ```

4. **Roll back the release**
   ```bash
   kubectl rollout undo deployment/api-gateway -n production
   kubectl rollout status deployment/api-gateway -n production
   ```
"""

FEATURE = """\
Feature: A runbook that works through kubectl port-forward

  Background:
    Given the "azora" system is running on the local platform
    And steady traffic of 10 users

  Scenario: RB-101 checks the gateway through a port-forward and rolls the release back
    When the "bad-release" fault is injected with tag "1.5.0"
    Then the SLOs of incident "RB-101" are breached within 30 seconds
    When the operator follows incident "RB-101"
    Then the SLOs are restored within the incident's time target
"""


def _free_port() -> int:
    """A loopback port free now (the drill says 'sandbox limit' if another process takes it meanwhile)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bound(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _port_forwards(port: int) -> list[str]:
    """Processes on this machine running a port-forward of this port."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "port-forward" in cmdline and f"{port}:8080" in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.fixture
def workspace() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="drillbook-portforward-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_port_forward_step_serves_the_next_steps_curl_in_a_real_drill_and_leaves_nothing_running(
    workspace: Path,
) -> None:
    port = _free_port()
    scenarios = workspace / "scenarios"
    shutil.copytree(REPO / "scenarios" / "azora", scenarios / "azora")
    (scenarios / "azora" / "runbook.md").write_text(RUNBOOK.format(port=port), encoding="utf-8")  # our copy
    features = workspace / "features"
    features.mkdir()
    (features / "portforward.feature").write_text(FEATURE, encoding="utf-8")
    (features / "test_portforward.py").write_text('from pytest_bdd import scenarios\n\nscenarios(".")\n')
    (features / "conftest.py").write_text("from steps.seed import *  # noqa: F403\n")
    reports = workspace / "reports"

    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(features), "-v", "-p", "no:cacheprovider", f"--rootdir={features}",
         f"--drillbook-reports={reports}", "--drillbook-run-id=pf", "--drillbook-platform=local",
         f"--drillbook-scenarios={scenarios}", "-o", "drillbook_control=off"],
        cwd=workspace, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=800,
        check=False,
    )  # fmt: skip
    journal = reports / "pf" / "journal.jsonl"
    assert journal.is_file(), f"no journal; pytest said:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    events = read_journal(journal)
    steps = {(e.step, e.command_index): e for e in events if isinstance(e, StepFinished)}
    verdicts = [e for e in events if isinstance(e, VerdictReached)]
    if not steps and verdicts:  # the drill never reached its steps: say why first, the rest is pytest's output
        pytest.fail(
            f"the drill never ran its steps ({verdicts[0].verdict.value}: {verdicts[0].reason}); on a loaded machine "
            f"the sandbox may come up too slowly: rerun. pytest said:\n{done.stdout[-2000:]}"
        )
    context = f"pytest exited {done.returncode}:\n{done.stdout[-3000:]}\nsteps: {steps}"

    forward, curl = steps.get((2, 0)), steps.get((3, 0))
    ended = [e.message for e in events if isinstance(e, Note) and "ran in the background" in e.message]
    context += f"\nbackground: {ended}"
    assert forward is not None, context
    assert curl is not None, context
    assert forward.decision is Decision.BOUNDED, context
    assert forward.reason.startswith(f"backgrounded (ready: Forwarding from 127.0.0.1:{port}"), context
    # The follow-up curl got the gateway's own answer, through the forward.
    assert curl.exit_code == 0, context
    assert '"service": "api-gateway"' in curl.output_excerpt, context
    assert len(ended) == 1, context
    assert ended[0].startswith("step 2: `kubectl port-forward -n production svc/api-gateway"), ended
    verdict = verdicts[0]
    assert verdict.verdict.value in {"passed", "passed_with_findings"}, f"{verdict.reason}\n{context}"
    assert not [f for f in verdict.findings if f.step in (2, 3)], verdict.findings
    # Nothing outlives the run: no port-forward process, and the port is free again.
    assert _port_forwards(port) == []
    assert not _bound(port)
    assert "ran in the background" in (reports / "pf" / "index.html").read_text(encoding="utf-8")
