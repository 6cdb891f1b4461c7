"""Ways a runbook line could leave the sandbox behind the policy's back, and how each one is caught."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drillbook.execute import judge
from drillbook.execute.contacts import hosts, is_loopback
from drillbook.execute.netguard import targets
from drillbook.execute.shell import split_parts
from drillbook.journal import Decision

TOOLS = [Path(p) for p in os.environ["PATH"].split(os.pathsep) if p]


@pytest.mark.parametrize(
    "command",
    [
        "X=$(aws s3 ls)",
        "echo `terraform output -raw db_host`",
        "(aws s3 ls)",
        "{ aws s3 ls; }",
        "bash -c 'aws s3 ls'",
        'sh -c "curl https://evil.example.com"',
        "eval aws s3 ls",
        "sudo -u postgres aws s3 ls",
        "if aws s3 ls; then echo ok; fi",
        "cat <<EOF | aws s3 cp - s3://bucket/x\nhello\nEOF",
        "bash <<'EOF'\naws s3 ls\nEOF",
        "watch -n 5 aws s3 ls",
        'echo "a <<EOF"\naws s3 ls\nEOF',
        "echo 'start' && bash <<'SCRIPT'\nkubectl get pods\ncurl https://evil.example.com\nSCRIPT",
        "kubectl exec -it api-0 -- psql -h db.prod.internal -c 'select 1'",
        "kubectl exec api-0 -- sh -c 'curl -s https://evil.example.com'",
        "psql 'host=db.prod.internal dbname=app' -c 'select 1'",
        "PGHOST=db.prod.internal psql -c 'select 1'",
        "redis-cli -hredis.prod.internal ping",
        "cat < /dev/tcp/example.com/80",
        "openssl s_client -connect example.com:443",
        "socat - TCP:example.com:80",
        "curl --connect-to 127.0.0.1:80:example.com:80 http://127.0.0.1/",
        "curl --resolve 127.0.0.1:80:93.184.216.34 http://127.0.0.1/",
        "curl -x proxy.example.com:3128 http://127.0.0.1/",
        "curl -K /tmp/urls.txt",
        "wget -i urls.txt",
        "curl http://127.999.0.1/",
        "curl smtp://mail.example.com --mail-rcpt oncall@example.com -T msg.txt",
        "curl dict://example.com:11211/stats",
        "curl file:///etc/shadow",
        "pip install requests",
        "python3 -m pip install requests",
        "apt-get install -y jq",
        "npm audit",
        "git push origin main",
        "git clone https://github.com/example/app",
        "kubectl --kubeconfig=/root/.kube/config get pods",
        "mkfs.ext4 /dev/sdb1",
        "systemctl restart redis-server",
        "echo pwned > /etc/motd",
        "cp resolv.conf /etc/resolv.conf",
        "sed -i 's/a/b/' /etc/hosts",
        "find / -name '*.log' -delete",
        "kubectl cp api-0:/etc/passwd /etc/passwd",
        "KUBECONFIG=/root/.kube/config kubectl get pods",
        "env HOME=/root kubectl get pods",
        "export https_proxy=proxy.example.com:3128",
        "python3 -c 'import socket; socket.create_connection((\"example.com\", 80))'",
    ],
)
def test_a_command_hidden_in_a_line_is_still_blocked(command: str) -> None:
    judgement = judge(command, (), TOOLS)
    assert judgement.decision is Decision.BLOCKED, judgement


@pytest.mark.parametrize(
    ("command", "decision"),
    [
        ("curl http://localhost:6060/debug/pprof/heap > heap.prof", Decision.RUNS),
        ("kubectl logs deploy/api --all-containers=true > logs.txt 2>&1", Decision.RUNS),
        ("kubectl get pods 2>/dev/null | grep -c Running", Decision.RUNS),
        ("NEW_PASSWORD=$(openssl rand -base64 32)", Decision.RUNS),
        ("curl -i -N -H 'Connection: Upgrade' http://127.0.0.1:3000/socket.io/", Decision.RUNS),
        ("kubectl exec -it api-0 -- nc -zv 127.0.0.1 5432", Decision.RUNS),
        ("kubectl exec -it api-0 -- psql -h 127.0.0.1 -c 'select 1'", Decision.RUNS),
        ("psql <<EOF\nSELECT 'https://docs.example.com' AS link;\nEOF", Decision.BLOCKED),
        ("watch kubectl get pods", Decision.BOUNDED),
        ("vmstat 1", Decision.BOUNDED),
        ("npm run migrate:down", Decision.MISSING_TOOL),
        ("npm test", Decision.MISSING_TOOL),
        ("git log --oneline -10", Decision.RUNS),
        ("cp /etc/hosts ./hosts.copy", Decision.RUNS),
        ("kubectl cp production/api-0:/app/heap.heapsnapshot ./heap-dump.heapsnapshot", Decision.RUNS),
        ("kubectl proxy --port=8001", Decision.BOUNDED),
        ("python3 -c 'print(2 + 2)'", Decision.RUNS),
    ],
)
def test_ordinary_runbook_lines_are_judged_by_what_they_really_do(command: str, decision: Decision) -> None:
    assert judge(command, (), TOOLS).decision is decision


def test_a_paging_call_with_an_unbound_routing_key_is_still_captured_not_sent() -> None:
    command = (
        "curl -X POST https://events.pagerduty.com/v2/enqueue -H 'Content-Type: application/json' "
        """-d '{"routing_key": "YOUR_ROUTING_KEY", "event_action": "trigger"}'"""
    )
    judgement = judge(command, ("YOUR_ROUTING_KEY",), TOOLS)
    assert judgement.decision is Decision.CAPTURED
    assert "YOUR_ROUTING_KEY" in judgement.reason
    assert '"event_action": "trigger"' in judgement.payload


def test_a_status_page_update_is_captured() -> None:
    command = 'curl -X POST https://status.example.com/api/incidents -d \'{"status": "investigating"}\''
    judgement = judge(command, (), TOOLS)
    assert judgement.decision is Decision.CAPTURED
    assert '"status": "investigating"' in judgement.payload


def test_a_webhook_payload_that_claims_json_but_is_not_is_reported() -> None:
    judgement = judge("curl -X POST https://hooks.slack.com/services/T/B/X -d '{text: down}'", (), TOOLS)
    assert judgement.decision is Decision.CAPTURED
    assert "not" in judgement.reason
    assert "JSON" in judgement.reason


def test_nested_parts_say_who_runs_them() -> None:
    parts = split_parts("kubectl exec api-0 -- sh -c 'psql -h db.prod -c \"select 1\"' && echo $(hostname)")
    by_program = {p.program: p.via for p in parts}
    assert by_program["kubectl"] == ""
    assert by_program["psql"] == "kubectl exec"
    assert by_program["hostname"] == "$(…)"
    assert ["db.prod"] in [hosts(p) for p in parts]


def test_redirection_targets_are_not_mistaken_for_arguments() -> None:
    [part] = split_parts("curl -s http://127.0.0.1:9090/x > out.json 2>&1")
    assert part.args == ("-s", "http://127.0.0.1:9090/x")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.20.0.9", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("127.999.0.1", False), ("0.0.0.0", False), ("localhost.evil.com", False), ("10.0.0.1", False)],
)  # fmt: skip
def test_only_real_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("curl", ["example.com"], ["example.com"]),
        ("curl", ["-O", "https://example.com/x"], ["example.com"]),
        ("curl", ["-s", "-o", "out", "http://127.0.0.1:8080/"], ["127.0.0.1"]),
        ("curl", ["--resolve", "a:80:1.2.3.4", "http://127.0.0.1/"], ["1.2.3.4", "127.0.0.1"]),
        ("wget", ["-c", "http://example.com/x"], ["example.com"]),
        ("wget", ["-O", "out", "http://127.0.0.1/x"], ["127.0.0.1"]),
    ],
)
def test_the_net_guard_sees_every_target_of_curl_and_wget(tool: str, args: list[str], expected: list[str]) -> None:
    assert targets(tool, args) == expected
