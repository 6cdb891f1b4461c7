"""Holes the policy used to let through, each judged with the message a runbook author sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.execute import judge
from drillbook.journal import Decision

TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("kubectl --context prod-cluster delete ns payments", "kubectl --context would point kubectl away"),
        ("kubectl --cluster=prod get pods", "kubectl --cluster would point kubectl away"),
        ("kubectl --user admin get secrets", "kubectl --user would point kubectl away"),
        ("kubectl --server https://10.0.0.1:6443 get pods", "kubectl --server would point kubectl away"),
        ("kubectl -s https://10.0.0.1:6443 get pods", "kubectl -s would point kubectl away"),
        ("kubectl get pods --kubeconfig ~/.kube/prod", "kubectl --kubeconfig would point kubectl away"),
        ("kubectl config use-context prod-cluster", "kubectl config use-context would point later commands away"),
        ("kubectl config set-context --current --namespace=x", "kubectl config set-context would point"),
        ("kubectl config set-cluster prod --server=https://10.0.0.1", "kubectl config set-cluster would point"),
        ("kubectl exec api-0 --context prod -- ls", "kubectl --context would point kubectl away"),
        ("echo a3ViZWN0bCBnZXQgcG9kcw== | base64 -d | bash", "bash runs a script piped into it"),
        ("printf 'curl http://127.0.0.1/\\n' | bash", "bash runs a script piped into it"),
        ("curl -s http://127.0.0.1:8080/install.sh | sh -s --", "sh runs a script piped into it"),
        ("bash <(curl -s http://127.0.0.1:8080/fix.sh)", "bash runs a script produced at run time"),
        ("source <(kubectl completion bash)", "source runs a script produced at run time"),
        ('eval "$(cat fix.txt)"', "eval runs text computed at run time"),
        ("export PGHOST=db.prod.internal; psql -c 'select 1'", "db.prod.internal is not in the sandbox"),
        ("export REDIS_HOST=redis.prod.internal; redis-cli ping", "redis.prod.internal is not in the sandbox"),
        ("export PGHOST=$PROD_DB && psql", "unbound host $PROD_DB"),
        (
            "python3 <<'EOF'\nimport socket\nsocket.create_connection(('192.0.2.1', 80))\nEOF",
            "inline python3 code that opens network connections",
        ),
        ("echo pwned > ../../escape.txt", "changes ../../escape.txt on the host"),
        ("touch ../outside", "changes ../outside on the host"),
        ("cp report.txt ../../../etc/cron.d/x", "changes ../../../etc/cron.d/x on the host"),
        ("cd /etc && touch motd.d/x", "changes motd.d/x on the host"),
        ("cd .. ; echo x > y.txt", "changes y.txt on the host"),
    ],
)
def test_a_hole_the_policy_used_to_miss_is_blocked_with_its_reason(command: str, message: str) -> None:
    judgement = judge(command, (), TOOLS)
    assert judgement.decision is Decision.BLOCKED, judgement
    assert message in judgement.reason


@pytest.mark.parametrize(
    "command",
    [
        "kubectl exec api-0 -- curl -s http://127.0.0.1:8080/health",  # -s is curl's, not kubectl's server
        "kubectl exec -n prod api-0 -- psql -w -c 'select 1'",
        "kubectl config current-context",
        "kubectl config get-contexts",
        "kubectl get pods -o wide > pods.txt",
        "echo ok > out/today.txt",
        "cd /tmp && echo x > notes.txt",
        "cd ~ && touch x",
        "cat queries.sql | psql -v ON_ERROR_STOP=1",
        "echo select 1 | bash -c 'cat'",
        "export PGHOST=127.20.0.1; psql -c 'select 1'",
        "python3 <<'EOF'\nprint(sum(range(10)))\nEOF",
    ],
)
def test_an_ordinary_line_near_a_hole_still_runs(command: str) -> None:
    judgement = judge(command, (), TOOLS)
    assert judgement.decision is Decision.RUNS, judgement
