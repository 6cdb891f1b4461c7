"""``kubectl exec … --``: only what follows ``--`` is the pod's command, and a command's own ``--timeout`` sets
its deadline (issue 17: ``-s`` was read as kubectl's server flag; ``rollout status --timeout=5m`` was killed at
60 s and counted as a failure)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.execute import judge
from drillbook.execute.policy import MAX_COMMAND_DEADLINE_S, command_deadline
from drillbook.journal import Decision

TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.mark.parametrize(
    "command",
    [
        "kubectl exec -n shop deploy/orders-api -- curl -s http://localhost:8080/api/health",
        "kubectl exec -it orders-api-7d9 -n shop -- curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/",
        "kubectl exec deployment/postgres -n shop -- psql -U postgres -s -c 'select 1'",
        "kubectl exec deployment/redis -n shop -- redis-cli -s /tmp/redis.sock ping",
    ],
)
def test_flags_after_the_double_dash_are_the_pods_commands_not_kubectls(command: str) -> None:
    assert judge(command, [], TOOLS).decision is Decision.RUNS


@pytest.mark.parametrize(
    "command",
    [
        "kubectl -s https://prod.example.com:6443 exec deploy/orders-api -- ls",
        "kubectl exec deploy/orders-api -s https://prod.example.com:6443 -- ls",
        "kubectl exec deploy/orders-api --context=prod -- ls",
    ],
)
def test_kubectls_own_server_flags_before_the_double_dash_are_still_blocked(command: str) -> None:
    judgement = judge(command, [], TOOLS)
    assert judgement.decision is Decision.BLOCKED
    assert "away from the sandbox's pinned cluster" in judgement.reason


def test_a_command_after_the_double_dash_is_judged_as_the_pods() -> None:
    judgement = judge("kubectl exec deploy/orders-api -- curl -s https://payments.example.com/charge", [], TOOLS)
    assert judgement.decision is Decision.BLOCKED
    assert "payments.example.com is not in the sandbox" in judgement.reason


@pytest.mark.parametrize(
    ("command", "deadline"),
    [
        ("kubectl rollout status deployment/orders-api -n shop --timeout=5m", 305.0),
        ("kubectl rollout status deployment/orders-api -n shop --timeout 300s", 305.0),
        ("kubectl wait --for=condition=Available deploy/orders-api --timeout=2m30s", 155.0),
        ("timeout 90 ./scripts/check.sh", 95.0),
        ("kubectl rollout status deployment/orders-api", 60.0),
        ("kubectl rollout status deployment/orders-api --timeout=10s", 60.0),
        ("kubectl rollout status deployment/orders-api --timeout=0", 60.0),
    ],
)
def test_a_commands_own_timeout_sets_its_deadline_with_a_grace(command: str, deadline: float) -> None:
    assert command_deadline(command, 60.0)[0] == deadline


def test_a_commands_own_timeout_is_capped_at_the_drills_maximum_and_says_so() -> None:
    deadline, why = command_deadline("kubectl rollout status deploy/orders-api --timeout=2h", 60.0)
    assert deadline == MAX_COMMAND_DEADLINE_S
    assert "7200 s" in why
    assert "maximum" in why
    assert command_deadline("kubectl rollout status deploy/x --timeout=5m", 60.0, max_s=120.0)[0] == 120.0


@pytest.mark.parametrize("url", ["http://localhost:8080/api/health", "http://127.0.0.1:9090/-/ready"])
def test_localhost_inside_an_execd_pod_runs_and_the_report_says_it_is_not_the_pods(url: str) -> None:
    judgement = judge(f"kubectl exec deploy/orders-api -n shop -- curl -s {url}", [], TOOLS)
    assert judgement.decision is Decision.RUNS
    assert "localhost is this machine's loopback, not the pod's own address" in judgement.reason


def test_localhost_on_the_host_needs_no_such_note() -> None:
    assert judge("curl -s http://127.0.0.1:8080/api/health", [], TOOLS).reason == ""
