"""KubeSandbox.wait_available, on a fake cluster and a fake clock: it waits out a slow start, gives up at once on a
pod that cannot start (naming pod, container, cause, events and log), and looks only at the sandbox's own
Deployments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from drillbook.errors import SandboxError
from drillbook.journal import Platform
from drillbook.platform import existing, kube_sandbox
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.kube.cluster import write_kubeconfig
from drillbook.scenario import Scenario, load_scenario

MISSING = (
    "failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: "
    'unable to start container process: exec: "shop-api": executable file not found in $PATH: unknown'
)

MANIFESTS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
"""


class Clock:
    """Time moves only when the wait sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Cluster:
    """What the fake API answers: per namespace its Deployments and pods, as ``state(polls)`` says."""

    state: Callable[[int], dict[str, dict[str, list[dict[str, Any]]]]]
    polls: int = 0
    asked: list[str] = field(default_factory=list)

    def list_namespaced_deployment(self, namespace: str) -> dict[str, Any]:
        self.asked.append(namespace)
        self.polls += 1
        return {"items": self.state(self.polls).get(namespace, {}).get("deployments", [])}

    def list_namespaced_pod(self, namespace: str) -> dict[str, Any]:
        return {"items": self.state(self.polls).get(namespace, {}).get("pods", [])}

    def list_namespaced_event(self, namespace: str, field_selector: str) -> Any:
        pod = field_selector.split("=", 1)[1]
        events = [("Normal", "Pulled", 'Container image "shop/api:1" already present on machine'),
                  ("Warning", "Failed", f"Error: {MISSING}")]  # fmt: skip
        return SimpleNamespace(items=[SimpleNamespace(type=t, reason=r, message=m) for t, r, m in events if pod])

    def read_namespaced_pod_log(self, name: str, namespace: str, container: str, tail_lines: int) -> str:
        return ""


def deployment(name: str, available: int, namespace: str = "shop", replicas: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}},
        "status": {"availableReplicas": available},
    }


def pod(name: str, app: str, waiting: str, message: str = "", namespace: str = "shop") -> dict[str, Any]:
    status = {"name": app, "image": f"shop/{app}:1", "restartCount": 0,
              "state": {"waiting": {"reason": waiting, "message": message}}}  # fmt: skip
    return {"metadata": {"name": name, "namespace": namespace, "labels": {"app": app}},
            "status": {"containerStatuses": [status]}}  # fmt: skip


def local_sandbox(scenario: Scenario, kube_env: dict[str, str], workdir: Path) -> KubeSandbox:
    return KubeSandbox(
        scenario=scenario, platform=Platform.LOCAL, kube_env=kube_env, workdir=workdir,
        access_factory=lambda api: SimpleNamespace(close=lambda: None),
    )  # fmt: skip


def existing_sandbox(scenario: Scenario, kube_env: dict[str, str], workdir: Path) -> KubeSandbox:
    return existing.scenario_sandbox(scenario, kube_env, workdir, on_close=lambda: None)


@pytest.fixture
def make_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., KubeSandbox]]:
    scenario_dir = tmp_path / "shop"
    scenario_dir.mkdir()
    (scenario_dir / "scenario.yaml").write_text("app: {namespace: shop, deployment: api, service: api, port: 80}\n")
    (scenario_dir / "manifests.yaml").write_text(MANIFESTS)
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, "http://127.0.0.1:9")  # never dialled: the API calls below are fakes
    made: list[KubeSandbox] = []

    def make(cluster: Cluster, build: Callable[..., KubeSandbox] = local_sandbox) -> KubeSandbox:
        monkeypatch.setattr(kube_sandbox.client, "AppsV1Api", lambda api: cluster)
        monkeypatch.setattr(kube_sandbox.client, "CoreV1Api", lambda api: cluster)
        sandbox = build(load_scenario(scenario_dir), {"KUBECONFIG": str(kubeconfig)}, tmp_path)
        sandbox.clock = Clock()
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.api_client.close()


@pytest.mark.parametrize("build", [local_sandbox, existing_sandbox], ids=["local", "existing"])
def test_a_pod_whose_command_is_missing_fails_the_wait_at_once_with_its_cause_events_and_log(
    make_sandbox: Callable[..., KubeSandbox], build: Callable[..., KubeSandbox]
) -> None:
    broken = {"shop": {"deployments": [deployment("api", 0)],
                       "pods": [pod("api-1", "api", "RunContainerError", MISSING),
                                pod("api-2", "api", "RunContainerError", MISSING)]}}  # fmt: skip
    sandbox = make_sandbox(Cluster(lambda polls: broken), build)
    with pytest.raises(SandboxError) as caught:
        sandbox.wait_available()
    message = str(caught.value)
    assert message.startswith(
        f"the shop system cannot start: pod shop/api-1, container api (image shop/api:1): RunContainerError: {MISSING}"
        " (the same in pod shop/api-2). Waiting cannot fix this"
    )
    assert f"Events of pod shop/api-1: Normal Pulled: Container image \"shop/api:1\" already present on machine; " \
           f"Warning Failed: Error: {MISSING}." in message  # fmt: skip
    assert "Last log lines of container api: (none: the container never wrote a line)." in message
    assert sandbox.clock.monotonic() - 1000.0 < sandbox.ready_timeout_s / 10  # gave up long before the timeout


def test_a_slow_but_healthy_start_is_waited_for(make_sandbox: Callable[..., KubeSandbox]) -> None:
    def slow(polls: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
        if polls < 200:  # 50 s of ContainerCreating and not-ready pods: slow, not broken
            return {"shop": {"deployments": [deployment("api", 0)],
                             "pods": [pod("api-1", "api", "ContainerCreating")]}}  # fmt: skip
        return {"shop": {"deployments": [deployment("api", 2)], "pods": []}}

    cluster = Cluster(slow)
    make_sandbox(cluster).wait_available()
    assert cluster.polls >= 200


@pytest.mark.parametrize("build", [local_sandbox, existing_sandbox], ids=["local", "existing"])
def test_only_the_scenarios_deployments_in_its_own_namespaces_are_looked_at(
    make_sandbox: Callable[..., KubeSandbox], build: Callable[..., KubeSandbox]
) -> None:
    # Another team's Deployment in the sandbox's namespace is broken too; so is one in a namespace of the cluster.
    world = {
        "shop": {"deployments": [deployment("api", 2), deployment("batch", 0)],
                 "pods": [pod("batch-1", "batch", "ImagePullBackOff", "not found")]},
        "kube-system": {"deployments": [deployment("coredns", 0, namespace="kube-system")],
                        "pods": [pod("coredns-1", "coredns", "CrashLoopBackOff", namespace="kube-system")]},
    }  # fmt: skip
    cluster = Cluster(lambda polls: world)
    make_sandbox(cluster, build).wait_available()
    assert set(cluster.asked) == {"shop"}


def test_the_timeout_names_what_it_still_waited_for(make_sandbox: Callable[..., KubeSandbox]) -> None:
    stuck_starting = {"shop": {"deployments": [deployment("api", 1)],
                               "pods": [pod("api-2", "api", "ContainerCreating")]}}  # fmt: skip
    sandbox = make_sandbox(Cluster(lambda polls: stuck_starting))
    sandbox.ready_timeout_s = 5.0
    asked: list[tuple[str, ...]] = []
    sandbox.kubectl = lambda *args, timeout_s=60.0: asked.append(args) or f"kubectl {' '.join(args)}"  # type: ignore[method-assign]
    with pytest.raises(
        SandboxError, match=r"did not become available within 5 s; still waiting for: shop/api \(1/2\)"
    ) as caught:
        sandbox.wait_available()
    assert asked == [("get", "pods", "-n", "shop", "-o", "wide"), ("get", "events", "-n", "shop")]
    assert caught.value.__notes__[:2] == ["kubectl get pods -n shop -o wide", "kubectl get events -n shop"]


def test_the_existing_platform_waits_with_the_shared_fail_fast_wait_and_a_longer_timeout(
    make_sandbox: Callable[..., KubeSandbox],
) -> None:
    sandbox = make_sandbox(Cluster(lambda polls: {}), existing_sandbox)
    assert type(sandbox).wait_available is KubeSandbox.wait_available
    assert sandbox.platform is Platform.EXISTING
    assert sandbox.ready_timeout_s == existing.READY_TIMEOUT_S == 300.0
