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


def test_an_unbound_placeholder_blocks_the_command_and_is_named() -> None:
    judgement = judge("kubectl logs <pod-name>", ("<pod-name>",), TOOLS)
    assert judgement.decision is Decision.BLOCKED
    assert "<pod-name>" in judgement.reason


def test_a_captured_notification_keeps_its_json_payload() -> None:
    judgement = judge('curl -X POST -d \'{"text": "API down"}\' https://hooks.slack.com/services/x', (), TOOLS)
    assert judgement.decision is Decision.CAPTURED
    assert '"text": "API down"' in judgement.payload
