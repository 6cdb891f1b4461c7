"""localkube serves the proxy subresources as a real API server does, and the real kubectl reaches pods through them:
``kubectl get --raw /api/v1/namespaces/NS/pods/POD:PORT/proxy/metrics``, a Service's proxy, and the node's
kubelet cAdvisor endpoint with its pods' container metrics."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest
from kube_harness import Kubectl

from drillbook.platform.local.kube.cluster import LocalKubeProcess

pytestmark = pytest.mark.live

METRICS = "# TYPE demo_requests_total counter\ndemo_requests_total 7\n"
MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: exporter, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: exporter}}
  template:
    metadata: {labels: {app: exporter}}
    spec:
      containers:
      - name: exporter
        image: exporter:1
        ports: [{containerPort: 8080, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: exporter, namespace: default}
spec:
  selector: {app: exporter}
  ports: [{name: web, port: 80, targetPort: http}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kubectl, str]]:
    state = tmp_path_factory.mktemp("localkube-proxy")
    www = state / "www"
    www.mkdir()
    (www / "metrics").write_text(METRICS)
    images = state / "images.yaml"
    images.write_text(
        "images:\n  exporter:1:\n    entrypoint: "
        + json.dumps(["python", "-m", "http.server", "--bind", "$(POD_IP)", "--directory", str(www), "8080"])
        + "\n"
    )
    kube = LocalKubeProcess(state_dir=state / "kube", images=[images], time_factor=0.05)
    kube.start()
    try:
        kubectl = Kubectl(env={**os.environ, **kube.env(), "HOME": str(state)}, cwd=state)
        (state / "manifests.yaml").write_text(MANIFESTS)
        kubectl("apply", "-f", str(state / "manifests.yaml"))
        kubectl("rollout", "status", "deployment/exporter", "--timeout=60s", timeout=70)
        pod = kubectl("get", "pods", "-l", "app=exporter", "-o", "jsonpath={.items[0].metadata.name}").stdout
        yield kubectl, pod
    finally:
        kube.stop()


def _raw(kubectl: Kubectl, path: str, *, check: bool = True) -> str:
    deadline = time.monotonic() + 10  # the pod's server may still be binding its port right after Available
    while True:
        done = kubectl("get", "--raw", path, check=False)
        if done.returncode == 0 or not check or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl get --raw {path} exited {done.returncode}: {done.stderr}")
    return done.stdout if done.returncode == 0 else done.stderr


def test_kubectl_reads_a_pods_metrics_through_the_pod_proxy(cluster: tuple[Kubectl, str]) -> None:
    kubectl, pod = cluster
    assert _raw(kubectl, f"/api/v1/namespaces/default/pods/{pod}:8080/proxy/metrics") == METRICS


def test_a_pod_named_without_a_port_is_reached_on_its_first_container_port(cluster: tuple[Kubectl, str]) -> None:
    kubectl, pod = cluster
    assert _raw(kubectl, f"/api/v1/namespaces/default/pods/{pod}/proxy/metrics?x=1") == METRICS
    assert _raw(kubectl, f"/api/v1/namespaces/default/pods/http:{pod}:/proxy/metrics") == METRICS, "scheme:name:"


def test_kubectl_reads_through_a_services_proxy_by_port_name_and_number(cluster: tuple[Kubectl, str]) -> None:
    kubectl, _pod = cluster
    assert _raw(kubectl, "/api/v1/namespaces/default/services/exporter:web/proxy/metrics") == METRICS
    assert _raw(kubectl, "/api/v1/namespaces/default/services/exporter:80/proxy/metrics") == METRICS


def test_the_node_proxy_serves_the_kubelets_cadvisor_metrics_of_localkubes_pods(
    cluster: tuple[Kubectl, str],
) -> None:
    kubectl, pod = cluster
    text = _raw(kubectl, "/api/v1/nodes/localkube/proxy/metrics/cadvisor")
    assert "# TYPE container_memory_working_set_bytes gauge" in text
    series = [line for line in text.splitlines() if line.startswith("container_memory_working_set_bytes{")]
    assert f'container_memory_working_set_bytes{{namespace="default",pod="{pod}",container="exporter"}}' in "\n".join(
        s.rsplit(" ", 1)[0] for s in series
    )


def test_a_missing_pod_or_a_closed_port_is_answered_as_an_api_server_does(cluster: tuple[Kubectl, str]) -> None:
    kubectl, pod = cluster
    missing = _raw(kubectl, "/api/v1/namespaces/default/pods/nope:8080/proxy/metrics", check=False)
    assert 'pods "nope" not found' in missing
    closed = _raw(kubectl, f"/api/v1/namespaces/default/pods/{pod}:9/proxy/metrics", check=False)
    assert "error trying to reach service" in closed
    node = _raw(kubectl, "/api/v1/nodes/elsewhere/proxy/metrics/cadvisor", check=False)
    assert 'nodes "elsewhere" not found' in node


def test_discovery_lists_the_proxy_subresources(cluster: tuple[Kubectl, str]) -> None:
    kubectl, _pod = cluster
    names = {r["name"]: r for r in json.loads(_raw(kubectl, "/api/v1"))["resources"]}
    assert {"pods/proxy", "services/proxy", "nodes/proxy"} <= set(names)
    assert names["pods/proxy"]["kind"] == "PodProxyOptions"
