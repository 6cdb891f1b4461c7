"""Nothing in the five seed runbooks reaches outside the sandbox: every command that would run targets only
loopback after bindings; cloud CLIs are blocked, notifications captured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.execute import Bindings, Resolver, judge
from drillbook.execute.contacts import hosts, is_loopback
from drillbook.execute.shell import split_parts
from drillbook.journal import Decision
from drillbook.runbook import parse_runbook

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SYSTEMS = ["azora", "zephyr-voting", "chat-rooms", "phase5-todo", "architect-api"]
TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.mark.parametrize("system", SYSTEMS)
def test_no_seed_command_that_would_run_reaches_outside_the_sandbox(system: str, view: object) -> None:
    runbook = parse_runbook(SCENARIOS / system / "runbook.md")
    resolver = Resolver(Bindings.load(SCENARIOS / system / "bindings.yaml"), view)  # type: ignore[arg-type]
    checked = 0
    for incident in runbook.incidents:
        for step in incident.steps:
            for command in step.commands:
                rewrite = resolver.rewrite(command.text, command.placeholders)
                decision = judge(rewrite.as_run, rewrite.unresolved, TOOLS).decision
                if decision in (Decision.RUNS, Decision.BOUNDED):
                    checked += 1
                    for part in split_parts(rewrite.as_run):
                        outside = [h for h in hosts(part) if not is_loopback(h)]
                        assert not outside, f"{system}:{command.line}: {rewrite.as_run!r} would reach {outside}"
                if any(cli in command.text.split() for cli in ("aws", "gcloud", "terraform", "az")):
                    assert decision is Decision.BLOCKED, f"{system}:{command.line}: {command.text!r}"
                if any(n in command.text for n in ("hooks.slack.com", "pagerduty.com", "/slack ")):
                    assert decision in (Decision.CAPTURED, Decision.BLOCKED), f"{system}:{command.line}"
    assert checked > 0


def test_the_seed_runbooks_do_contain_commands_that_must_never_run() -> None:
    texts = [
        c.text
        for system in SYSTEMS
        for i in parse_runbook(SCENARIOS / system / "runbook.md").incidents
        for s in i.steps
        for c in s.commands
    ]
    assert any("aws " in t for t in texts)
    assert any("pagerduty" in t or "slack" in t.lower() for t in texts)
