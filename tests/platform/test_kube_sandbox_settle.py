"""KubeSandbox.change_fingerprint, on fake API answers: a complete rollout is at rest, anything on its way is not
(and says why), the fingerprint moves with every change, only the scenario's namespaces are read, and an API error
is an error (no evidence), never a sandbox at rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from drillbook.errors import ClusterError
from drillbook.journal import Platform
from drillbook.platform import kube_sandbox
from drillbook.platform.kube_sandbox import KubeSandbox, change_snapshot
from drillbook.platform.local.kube.cluster import write_kubeconfig
from drillbook.scenario import load_scenario

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


def deployment(rv: str = "10", *, generation: int = 2, observed: int = 2, **counts: int) -> dict[str, Any]:
    status = {"observedGeneration": observed, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
              "availableReplicas": 2}  # fmt: skip
    status.update({f"{name}Replicas" if name != "replicas" else name: n for name, n in counts.items()})
    return {"metadata": {"name": "api", "namespace": "shop", "generation": generation, "resourceVersion": rv},
            "spec": {"replicas": 2}, "status": status}  # fmt: skip


def pod(name: str, rv: str = "20", *, phase: str = "Running", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    state = {"waiting": {"reason": extra["waiting"]}} if "waiting" in extra else {"running": {}}
    meta = {"name": name, "namespace": "shop", "resourceVersion": rv}
    if extra.get("terminating"):
        meta["deletionTimestamp"] = "2026-12-02T10:00:00Z"
    return {"metadata": meta, "status": {"phase": phase,
            "containerStatuses": [{"name": "api", "restartCount": restarts, "state": state}]}}  # fmt: skip


def replica_set(rv: str = "11") -> dict[str, Any]:
    return {"metadata": {"name": "api-5d4f", "namespace": "shop", "resourceVersion": rv}}


def world(**change: Any) -> dict[str, list[dict[str, Any]]]:
    seen: dict[str, list[dict[str, Any]]] = {
        "Deployment": [deployment()],
        "ReplicaSet": [replica_set()],
        "Pod": [pod("api-1"), pod("api-2", "21")],
        "Autoscaler": [],
    }
    seen.update(change)
    return seen


def test_a_complete_rollout_with_running_pods_is_at_rest() -> None:
    assert change_snapshot(world()).unsettled == ()


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"Deployment": [deployment(generation=3)]}, "deployment shop/api: generation 3 not yet observed"),
        ({"Deployment": [deployment(updated=1)]}, "deployment shop/api: 1 updated, 2 ready, 2 available, 2 total of 2"),
        ({"Deployment": [deployment(replicas=3)]}, "deployment shop/api: 2 updated, 2 ready, 2 available, 3 total"),
        ({"Deployment": [deployment(ready=1, available=1)]}, "deployment shop/api: 2 updated, 1 ready, 1 available"),
        ({"Pod": [pod("api-3", phase="Pending")]}, "pod shop/api-3 is pending"),
        ({"Pod": [pod("api-3", waiting="ContainerCreating")]}, "pod shop/api-3, container api: waiting (ContainerCr"),
        ({"Pod": [pod("api-1", waiting="CrashLoopBackOff", restarts=4)]}, "waiting (CrashLoopBackOff)"),
        ({"Pod": [pod("api-1", terminating=True)]}, "pod shop/api-1 is terminating"),
        ({"Autoscaler": [{"metadata": {"name": "api", "namespace": "shop"}}]}, "autoscaler shop/api may still scale"),
    ],
)  # fmt: skip
def test_anything_on_its_way_is_not_at_rest_and_says_why(change: dict[str, Any], why: str) -> None:
    unsettled = change_snapshot(world(**change)).unsettled
    assert any(why in reason for reason in unsettled), unsettled


@pytest.mark.parametrize(
    "change",
    [
        {"Deployment": [deployment("12")]},
        {"ReplicaSet": [replica_set("13")]},
        {"Pod": [pod("api-1"), pod("api-2", "22")]},
        {"Pod": [pod("api-1"), pod("api-3", "21")]},
        {"Pod": [pod("api-1")]},
    ],
    ids=["deployment", "replicaset", "pod", "pod-replaced", "pod-gone"],
)
def test_every_change_moves_the_fingerprint(change: dict[str, Any]) -> None:
    assert change_snapshot(world(**change)).fingerprint != change_snapshot(world()).fingerprint


def test_a_container_restart_moves_the_fingerprint_even_with_the_same_resource_version() -> None:
    restarted = world(Pod=[pod("api-1", restarts=1), pod("api-2", "21")])
    assert change_snapshot(restarted).fingerprint != change_snapshot(world()).fingerprint


def test_the_same_objects_listed_again_give_the_same_fingerprint() -> None:
    shuffled = world(Pod=[pod("api-2", "21"), pod("api-1")])
    assert change_snapshot(deepcopy(shuffled)).fingerprint == change_snapshot(world()).fingerprint


@dataclass
class Api:
    """What the fake API answers, per namespace; ``fails`` makes every list raise."""

    objects: dict[str, dict[str, list[dict[str, Any]]]]
    fails: bool = False
    asked: list[str] = field(default_factory=list)

    def _list(self, kind: str, namespace: str) -> dict[str, Any]:
        self.asked.append(namespace)
        if self.fails:
            raise kube_sandbox.client.ApiException(status=503, reason="Service Unavailable")
        return {"items": self.objects.get(namespace, {}).get(kind, [])}

    def list_namespaced_deployment(self, namespace: str) -> dict[str, Any]:
        return self._list("Deployment", namespace)

    def list_namespaced_replica_set(self, namespace: str) -> dict[str, Any]:
        return self._list("ReplicaSet", namespace)

    def list_namespaced_pod(self, namespace: str) -> dict[str, Any]:
        return self._list("Pod", namespace)

    def list_namespaced_horizontal_pod_autoscaler(self, namespace: str) -> dict[str, Any]:
        return self._list("Autoscaler", namespace)


@pytest.fixture
def sandbox_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Api], KubeSandbox]]:
    scenario_dir = tmp_path / "shop"
    scenario_dir.mkdir()
    (scenario_dir / "scenario.yaml").write_text("app: {namespace: shop, deployment: api, service: api, port: 80}\n")
    (scenario_dir / "manifests.yaml").write_text(MANIFESTS)
    kubeconfig = tmp_path / "kubeconfig"
    write_kubeconfig(kubeconfig, "http://127.0.0.1:9")  # never dialled: the API calls below are fakes
    made: list[KubeSandbox] = []

    def make(api: Api) -> KubeSandbox:
        for name in ("AppsV1Api", "CoreV1Api", "AutoscalingV2Api"):
            monkeypatch.setattr(kube_sandbox.client, name, lambda _client: api)
        sandbox = KubeSandbox(
            scenario=load_scenario(scenario_dir), platform=Platform.LOCAL,
            kube_env={"KUBECONFIG": str(kubeconfig)}, workdir=tmp_path,
            access_factory=lambda _client: SimpleNamespace(close=lambda: None),
        )  # fmt: skip
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        sandbox.api_client.close()


def test_the_probe_reads_only_the_scenarios_own_namespaces(sandbox_on: Callable[[Api], KubeSandbox]) -> None:
    broken_elsewhere = {"Pod": [pod("coredns-1", waiting="CrashLoopBackOff")]}
    api = Api({"shop": world(), "kube-system": broken_elsewhere})
    snapshot = sandbox_on(api).change_fingerprint()
    assert snapshot.unsettled == ()
    assert set(api.asked) == {"shop"}


def test_an_api_error_is_an_error_never_a_sandbox_at_rest(sandbox_on: Callable[[Api], KubeSandbox]) -> None:
    with pytest.raises(ClusterError, match=r"could not be listed: ApiException: \(503\)"):
        sandbox_on(Api({"shop": world()}, fails=True)).change_fingerprint()
