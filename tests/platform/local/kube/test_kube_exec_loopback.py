"""Live: real kubectl exec into real PostgreSQL and Redis pods finds their servers at "localhost", as in a pod."""

from __future__ import annotations

import subprocess
import time

import pytest
from kube_harness import Kubectl

pytestmark = pytest.mark.live


def _ready(kubectl: Kubectl, name: str, timeout: int = 90) -> None:
    kubectl("wait", "--for=condition=Ready", f"pod/{name}", f"--timeout={timeout}s", timeout=timeout + 10)


def _exec_until_ok(kubectl: Kubectl, *args: str, deadline_s: float = 60) -> subprocess.CompletedProcess[str]:
    """Exec until it succeeds (the server may still be starting once the pod is Ready) or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while True:
        done = kubectl("exec", *args, check=False, timeout=30)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


@pytest.fixture(scope="module")
def datastore_pods(kubectl: Kubectl) -> None:
    kubectl("run", "postgres-0", "--image=postgres:15", "--env=POSTGRES_PASSWORD=s3cret")
    kubectl("run", "redis-0", "--image=redis:7")
    kubectl("run", "web-0", "--image=web:1")
    for name in ("postgres-0", "redis-0", "web-0"):
        _ready(kubectl, name)


def test_psql_without_a_host_reaches_the_pods_server_on_its_local_socket(
    kubectl: Kubectl, datastore_pods: None
) -> None:
    done = _exec_until_ok(kubectl, "postgres-0", "--", "psql", "-U", "postgres", "-tAc", "select 40 + 2")
    assert (done.returncode, done.stdout.strip()) == (0, "42"), done.stderr
    socket_dir = kubectl("exec", "postgres-0", "--", "sh", "-c", 'echo "$PGHOST"').stdout.strip()
    probe = kubectl("exec", "postgres-0", "--", "psql", "-U", "postgres", "-tAc", "show unix_socket_directories")
    assert probe.stdout.strip() == socket_dir


def test_redis_cli_without_a_host_reaches_the_pods_redis_and_says_it_was_adapted(
    kubectl: Kubectl, datastore_pods: None
) -> None:
    ip = kubectl("get", "pod", "redis-0", "-o", "jsonpath={.status.podIP}").stdout
    done = _exec_until_ok(kubectl, "redis-0", "--", "redis-cli", "ping")
    assert (done.returncode, done.stdout.strip()) == (0, "PONG"), done.stderr
    assert f"given -h {ip}" in done.stderr
    # Through a shell and with a loopback host too: the wrapper is on the exec's PATH.
    shelled = kubectl("exec", "redis-0", "--", "sh", "-c", "redis-cli -h localhost set k v && redis-cli get k")
    assert shelled.stdout.split() == ["OK", "v"], shelled.stderr


def test_exec_into_a_pod_without_a_datastore_is_unchanged(kubectl: Kubectl, datastore_pods: None) -> None:
    env = dict(line.split("=", 1) for line in kubectl("exec", "web-0", "--", "env").stdout.splitlines() if "=" in line)
    assert "PGHOST" not in env
    assert "exec-bin" not in env["PATH"]
    plain = kubectl("exec", "web-0", "--", "sh", "-c", "echo hi")
    assert (plain.stdout, plain.stderr) == ("hi\n", "")


def test_localhost_on_a_port_the_app_pod_serves_reaches_that_pod(kubectl: Kubectl, datastore_pods: None) -> None:
    fetch = "import urllib.request as u; print(u.urlopen('http://localhost:8080/', timeout=10).status)"
    done = _exec_until_ok(kubectl, "web-0", "--", "python", "-c", fetch)
    assert (done.returncode, done.stdout) == (0, "200\n"), done.stderr
    assert "localhost port 8080 in this command is given as" in done.stderr


def test_a_loopback_host_in_a_pod_without_adaptation_is_named_as_a_difference(
    kubectl: Kubectl, datastore_pods: None
) -> None:
    done = kubectl("exec", "web-0", "--", "python", "-c", "print('localhost:9')")
    assert done.stdout == "localhost:9\n"
    assert "is the host's loopback, not pod web-0" in done.stderr
