"""The policy judges every command before it runs; the worst part of a line decides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.execute import judge
from drillbook.journal import Decision

TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("kubectl get pods -n production", Decision.RUNS),
        ("curl -s http://127.20.0.3:8080/api/health | jq .", Decision.RUNS),
        ("aws s3 rm s3://backups/prod --recursive", Decision.BLOCKED),
        ("terraform apply -auto-approve", Decision.BLOCKED),
        ("gcloud sql instances restart prod", Decision.BLOCKED),
        ("ssh bastion.example.com 'psql -c select 1'", Decision.BLOCKED),
        ("curl https://api.zephyr.example.com/api/health", Decision.BLOCKED),
        ("curl -s http://prometheus:9090/api/v1/query", Decision.BLOCKED),
        ("psql -h db.prod.internal -U app -c 'select 1'", Decision.BLOCKED),
        ("rm -rf /var/lib/postgresql", Decision.BLOCKED),
        ("sudo kill -9 1234", Decision.BLOCKED),
        ("docker compose up -d backend", Decision.BLOCKED),
        ('curl -X POST -d \'{"text":"down"}\' https://hooks.slack.com/services/T0/B0/X', Decision.CAPTURED),
        ("curl -X POST https://events.pagerduty.com/v2/enqueue -d '{}'", Decision.CAPTURED),
        ('/slack post "RESOLVED: Error rate back to normal."', Decision.CAPTURED),
        ("kubectl get pods -w", Decision.BOUNDED),
        ("kubectl logs -f deployment/api", Decision.BOUNDED),
        ("watch kubectl get pods", Decision.BOUNDED),
        ("top", Decision.BOUNDED),
        ("kubectl exec deployment/api -- psql -c 'select 1' -w", Decision.RUNS),
        ("definitely-not-a-tool-xyz --version", Decision.MISSING_TOOL),
        ("kubectl get pods && aws s3 ls", Decision.BLOCKED),
        ("kubectl exec -it api-7d9 -n production -- kill -SIGUSR2 1", Decision.BLOCKED),
        ("kubectl exec deployment/api -- sh -c 'rm -rf /data'", Decision.BLOCKED),
        ("kubectl exec deployment/api -- curl -s https://external-api.example.com", Decision.BLOCKED),
        ("kubectl exec deployment/api -- env", Decision.RUNS),
    ],
)
def test_the_policy_decides_by_the_worst_part(command: str, decision: Decision) -> None:
    assert judge(command, (), TOOLS).decision is decision


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("journalctl --vacuum-time=2d", "host's journal"),
        ("sudo journalctl --vacuum-size=500M", "host's journal"),
        ("journalctl --rotate", "host's journal"),
        ("ip route add 10.0.0.0/8 via 10.1.1.1", "host's network"),
        ("ip link set eth0 down", "host's network"),
        ("tc qdisc add dev eth0 root netem delay 100ms", "host's network"),
        ("timedatectl set-ntp true", "changes the host"),
        ("hostnamectl set-hostname db-1", "changes the host"),
        ("loginctl terminate-user app", "changes the host"),
        ("nsenter -t 1 -m -u -n -i sh", "outside the step's containment"),
        ("unshare -n sh", "outside the step's containment"),
        ("systemd-run --scope -p MemoryMax=1G ./job", "outside the step's containment"),
        ("renice -n 10 -p 1234", "host's processes or disks"),
        ("fstrim -av", "host's processes or disks"),
    ],
)
def test_host_administration_is_refused_before_it_runs(command: str, reason: str) -> None:
    """The OS containment would stop these too (an unprivileged user); the policy refuses them first and says why,
    so the drill reports a blocked step instead of a permission error the on-call would never see."""
    judgement = judge(command, (), TOOLS)
    assert judgement.decision is Decision.BLOCKED
    assert reason in judgement.reason


@pytest.mark.parametrize(
    "command",
    ["journalctl -u api --since '10 min ago' --no-pager", "journalctl --disk-usage", "ip addr show", "ip -s link",
     "tc qdisc show dev eth0", "timedatectl status", "hostnamectl", "loginctl list-sessions"],
)  # fmt: skip
def test_reading_host_state_is_not_refused(command: str) -> None:
    assert judge(command, (), TOOLS).decision is not Decision.BLOCKED


def test_an_unbound_placeholder_blocks_the_command_and_is_named() -> None:
    judgement = judge("kubectl logs <pod-name>", ("<pod-name>",), TOOLS)
    assert judgement.decision is Decision.BLOCKED
    assert "<pod-name>" in judgement.reason


def test_a_captured_notification_keeps_its_json_payload() -> None:
    judgement = judge('curl -X POST -d \'{"text": "API down"}\' https://hooks.slack.com/services/x', (), TOOLS)
    assert judgement.decision is Decision.CAPTURED
    assert '"text": "API down"' in judgement.payload
