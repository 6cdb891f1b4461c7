"""Conformance against the seed runbooks: every kubectl command the five runbooks contain (taken from the runbook
parser) runs with the real kubectl against localkube, with the system's own names, namespaces and bindings.

A command may legitimately fail the way it would on a real cluster (a resource the runbook names that the system
does not have, a container that is not running); it must never fail because localkube does not speak the API:
no 404 for a route, no 405/415/500, no "the server could not find the requested resource".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from drillbook.execute import Bindings, StepExecutor
from drillbook.journal import Decision
from drillbook.platform.executor_view import KubeSandboxView
from drillbook.platform.local.sandbox import provision_local
from drillbook.runbook import parse_runbook
from drillbook.runbook.model import Step

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).resolve().parents[4] / "scenarios"
SYSTEMS = ["azora", "zephyr-voting", "chat-rooms", "phase5-todo", "architect-api"]
# Status reasons as kubectl prints them ("Error from server (MethodNotAllowed)"); never bare numbers, which a
# command's own output (a PID, a byte count) can contain.
NOT_SPOKEN = (
    "the server could not find the requested resource",
    "(MethodNotAllowed)",
    "(UnsupportedMediaType)",
    "(InternalError)",
    "Internal error occurred",
    "not implemented",
    "failed to download openapi",
    'the server doesn\'t have a resource type "pods"',
)
MUTATES_CLUSTER_WIDE = ("delete namespace", "drain", "cordon")


def _kubectl_steps(system: str) -> list[Step]:
    runbook = parse_runbook(SCENARIOS / system / "runbook.md")
    steps: list[Step] = []
    for incident in runbook.incidents:
        for step in incident.steps:
            commands = tuple(
                c for c in step.commands if c.tool == "kubectl" and not any(w in c.text for w in MUTATES_CLUSTER_WIDE)
            )
            if commands:
                steps.append(Step(step.number, f"{incident.id} {step.title}", step.prose, step.line, commands))
    return steps


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_kubectl_command_of_the_seed_runbook_gets_a_real_answer(system: str) -> None:
    steps = _kubectl_steps(system)
    assert steps, f"{system}'s runbook has kubectl commands"
    with tempfile.TemporaryDirectory(prefix="drillbook-conformance-") as tmp:
        sandbox = provision_local(SCENARIOS / system, Path(tmp))
        try:
            executor = StepExecutor(
                view=KubeSandboxView(sandbox),
                workdir=Path(tmp) / "steps",
                bindings=Bindings.load(SCENARIOS / system / "bindings.yaml"),
                deadline_s=30.0,
                bounded_s=2.0,
                # This test asks whether kubectl answers, not whether a rollout finishes: a runbook's own
                # `rollout status --timeout=300s` must not wait out a rollout nobody fixes here.
                max_deadline_s=30.0,
            )
            ran = 0
            for step in steps:
                for outcome in executor.run_step(step):
                    if outcome.decision not in (Decision.RUNS, Decision.BOUNDED):
                        continue
                    ran += 1
                    spoken = [marker for marker in NOT_SPOKEN if marker in outcome.output]
                    assert not spoken, f"{system}: {outcome.as_run!r} got {spoken}:\n{outcome.output[-1500:]}"
            assert ran > 0
        finally:
            sandbox.close()
