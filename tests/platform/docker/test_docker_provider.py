"""The docker platform end to end: localkube with PostgreSQL and Redis in labelled containers, behind the fault
proxy, brought up and torn down for a seed (zephyr-voting), with nothing of the sandbox left afterwards."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from drillbook.errors import SandboxError
from drillbook.platform.docker import EngineHandle
from drillbook.platform.docker.provider import ContainerSandbox, provision_docker
from drillbook.platform.executor_view import KubeSandboxView

pytestmark = [pytest.mark.docker, pytest.mark.live]

ZEPHYR = Path(__file__).resolve().parents[3] / "scenarios" / "zephyr-voting"


def labelled(label: str) -> list[str]:
    """Ids of the containers (running or not) that carry this sandbox's run label."""
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=org.drillbook.run={label}"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout.split()


def record_of(run_dir: Path) -> dict[str, object]:
    (record,) = run_dir.glob("sandboxes/*/docker-sandbox.json")
    loaded: dict[str, object] = json.loads(record.read_text())
    return loaded


def prometheus_series(url: str, expr: str, timeout_s: float = 30.0) -> list[dict[str, object]]:
    """The series ``expr`` returns once it returns any, within ``timeout_s`` (scrapes run every second)."""
    deadline = time.monotonic() + timeout_s
    seen: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        query = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as response:
            seen = json.loads(response.read())["data"]["result"]
        if seen:
            return seen
        time.sleep(0.5)
    raise AssertionError(f"{expr} returned no series within {timeout_s:.0f} s from {url}")


def test_a_seed_comes_up_with_its_datastores_in_containers_and_leaves_nothing_behind(
    docker_engine: EngineHandle, tmp_path: Path
) -> None:
    sandbox = provision_docker(ZEPHYR, tmp_path)
    record = record_of(tmp_path)
    label = str(record["run_label"])
    temp_dirs = [Path(p) for p in record["temp_dirs"]]  # type: ignore[attr-defined]
    try:
        assert isinstance(sandbox, ContainerSandbox)
        assert sandbox.platform_label.startswith("localkube with PostgreSQL and Redis in testcontainers")
        assert sorted(c[:12] for c in record["containers"]) == sorted(labelled(label))  # type: ignore[attr-defined]
        assert len(labelled(label)) == 2
        # The datastores run in the containers; their pods are handles on them (the app does not go through them).
        pods = sandbox.kubectl("get", "pods", "-o", "jsonpath={.items[*].metadata.labels.app}").split()
        assert set(pods) == {"zephyr-backend", "postgres", "redis"}
        images = sandbox.kubectl("get", "deploy", "redis", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
        assert images == "drillbook/container-handle"
        # postgres-direct is selector-less; its Endpoints are the container's loopback-published port.
        published = sandbox.containers["postgres"].loopback_port
        direct = sandbox.kubectl("get", "endpoints", "postgres-direct", "-o", "jsonpath={.subsets[0].ports[0].port}")
        assert int(direct) == published
        selector = sandbox.kubectl("get", "service", "postgres-direct", "-o", "jsonpath={.spec.selector}")
        assert selector.strip() == ""
        # The runbook's names are local's: psql -h postgres reaches the database through the proxy.
        host, port = KubeSandboxView(sandbox).service_address("default", "postgres", 5432)
        pg = sandbox.scenario.postgres
        assert pg is not None
        done = subprocess.run(
            ["psql", "-h", host, "-p", str(port), "-U", pg.user, "-d", pg.database, "-tAc", "SELECT 1"],
            env={"PGPASSWORD": pg.password, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.stdout.strip() == "1", done.stderr
        target = sandbox.fault_target(None)
        assert target.toxiproxy_url == sandbox.fault_proxy_url
        assert dict(target.proxies) == {"postgres": "postgres", "redis": "redis"}
        # Prometheus, as on local: the app's pods, their container metrics and both datastores' exporters.
        url = sandbox.prometheus_url
        assert url is not None
        assert url.startswith("http://127.0.0.1:")
        assert prometheus_series(url, 'up{job="app"} == 1')
        assert prometheus_series(url, "container_memory_working_set_bytes")
        assert prometheus_series(url, "pg_up == 1")[0]["metric"]["job"] == "postgres"  # type: ignore[index]
        assert prometheus_series(url, "redis_up == 1")[0]["metric"]["job"] == "redis"  # type: ignore[index]
    finally:
        sandbox.close()
    with pytest.raises(urllib.error.URLError):  # Prometheus stopped with the sandbox
        urllib.request.urlopen(f"{url}/-/ready", timeout=2)
    assert labelled(label) == []
    assert not any(d.exists() for d in temp_dirs)


def test_a_failing_deploy_removes_the_containers_it_started(
    docker_engine: EngineHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_wait(self: ContainerSandbox) -> None:
        raise SandboxError("injected: the app never became available")

    monkeypatch.setattr(ContainerSandbox, "wait_available", broken_wait)
    with pytest.raises(SandboxError, match="injected"):
        provision_docker(ZEPHYR, tmp_path)
    record = record_of(tmp_path)
    assert labelled(str(record["run_label"])) == []
    assert not any(Path(p).exists() for p in record["temp_dirs"])  # type: ignore[attr-defined]


def _container_running(container_id: str) -> bool:
    done = subprocess.run(
        ["docker", "inspect", "--format", "{{.State.Running}}", container_id],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done.stdout.strip() == "true"


def _eventually(condition: Callable[[], bool], timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def test_what_a_runbook_does_to_the_redis_deployment_acts_on_its_container(
    docker_engine: EngineHandle, tmp_path: Path
) -> None:
    sandbox = provision_docker(ZEPHYR, tmp_path)
    try:
        assert isinstance(sandbox, ContainerSandbox)
        redis = sandbox.containers["redis"]
        host, port = KubeSandboxView(sandbox).service_address("default", "redis", 6379)

        def answers() -> bool:
            done = subprocess.run(
                ["redis-cli", "-h", host, "-p", str(port), "PING"],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
            return done.stdout.strip() == "PONG"

        assert answers()
        sandbox.kubectl("scale", "deployment/redis", "--replicas=0")
        assert _eventually(lambda: not _container_running(redis.container_id)), "scaled to zero: the container stops"
        assert not answers()
        sandbox.kubectl("scale", "deployment/redis", "--replicas=1")
        assert _eventually(lambda: _container_running(redis.container_id)), "scaled back: the container starts"
        assert _eventually(answers), "the app's path (Service → fault proxy → container) works again"
        # kubectl exec into the handle pod finds Redis without -h, as in the image.
        ping = sandbox.kubectl("exec", "deploy/redis", "--", "redis-cli", "PING")
        assert ping.strip().endswith("PONG")
    finally:
        sandbox.close()
