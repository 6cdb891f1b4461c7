"""Every step of the five seed runbooks, planned by the executor exactly as a drill would run it (bindings,
SQL sent through psql, branches, prose), reaches nothing outside the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drillbook.execute import Bindings, StepExecutor
from drillbook.execute.contacts import hosts, is_loopback
from drillbook.execute.executor import Outcome
from drillbook.execute.shell import split_parts
from drillbook.journal import Decision
from drillbook.runbook import parse_runbook

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
SYSTEMS = ["azora", "zephyr-voting", "chat-rooms", "phase5-todo", "architect-api"]
WOULD_RUN = (Decision.RUNS, Decision.BOUNDED, Decision.SUPPLIED)
CLOUD = re.compile(r"(?:^|[\s;|&(])(?:aws|gcloud|az|terraform)\s")
NOTIFY = re.compile(r"hooks\.slack\.com|pagerduty\.com|statuspage\.io|^Slack:", re.IGNORECASE)
PRODUCTION_URL = re.compile(r"https?://([\w.-]+\.(?:com|net|io|org|internal))")


def _plan(system: str, view: object, workdir: Path) -> list[Outcome]:
    bindings = Bindings.load(SCENARIOS / system / "bindings.yaml")
    executor = StepExecutor(view=view, workdir=workdir, bindings=bindings)  # type: ignore[arg-type]
    planned: list[Outcome] = []
    for incident in parse_runbook(SCENARIOS / system / "runbook.md").incidents:
        for step in incident.steps:
            branches = list(dict.fromkeys(c.branch for c in step.commands if c.branch is not None)) or [None]
            for branch in branches:
                planned.extend(executor.run_step(step, branch=branch, dry_run=True))
    return planned


@pytest.mark.parametrize("system", SYSTEMS)
def test_nothing_a_seed_runbook_would_run_leaves_loopback(system: str, view: object, tmp_path: Path) -> None:
    planned = _plan(system, view, tmp_path)
    would_run = [o for o in planned if o.decision in WOULD_RUN]
    assert would_run, f"{system}: no command would run at all"
    for outcome in would_run:
        outside = [h for part in split_parts(outcome.as_run) for h in hosts(part) if not is_loopback(h)]
        assert not outside, f"{system}: {outcome.as_run!r} would reach {outside}"
        assert not re.search(r"<[\w.-]+>", outcome.as_run), f"{system}: {outcome.as_run!r} keeps a placeholder"


@pytest.mark.parametrize("system", SYSTEMS)
def test_cloud_clis_are_blocked_and_notifications_captured(system: str, view: object, tmp_path: Path) -> None:
    for outcome in _plan(system, view, tmp_path):
        if CLOUD.search(outcome.as_written):
            assert outcome.decision is Decision.BLOCKED, f"{system}: {outcome.as_written!r}"
        if NOTIFY.search(outcome.as_written):
            assert outcome.decision is Decision.CAPTURED, f"{system}: {outcome.as_written!r}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_production_url_is_rewritten_blocked_or_captured(system: str, view: object, tmp_path: Path) -> None:
    for outcome in _plan(system, view, tmp_path):
        for host in PRODUCTION_URL.findall(outcome.as_written):
            if outcome.decision in WOULD_RUN:
                assert host not in outcome.as_run, f"{system}: {outcome.as_run!r} still names {host}"


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_dry_run_runs_nothing(system: str, view: object, tmp_path: Path) -> None:
    assert all(o.exit_code is None for o in _plan(system, view, tmp_path))
    assert not (tmp_path / "cwd").exists()


def test_the_seeds_do_contain_what_must_never_leave() -> None:
    written = [
        c.text
        for system in SYSTEMS
        for incident in parse_runbook(SCENARIOS / system / "runbook.md").incidents
        for step in incident.steps
        for c in step.commands
    ]
    assert any(CLOUD.search(t) for t in written)
    assert any(NOTIFY.search(t) for t in written)
    assert any(PRODUCTION_URL.search(t) for t in written)
