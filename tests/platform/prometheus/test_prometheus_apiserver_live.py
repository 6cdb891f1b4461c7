"""Prometheus through the API server's proxy, as it runs on kind, k3s and an existing cluster, tried on localkube:
a seed comes up on local, then a second Prometheus reaches the same cluster only through its API server (pods'
``/proxy/metrics``, the node's ``/proxy/metrics/cadvisor``) and sees every app pod up and the containers' memory,
while every address its config lets it scrape is on loopback."""

from __future__ import annotations

import json
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.sandbox import provision_local
from drillbook.platform.prometheus import PrometheusAction, PrometheusContext, ThroughApiServer
from drillbook.platform.prometheus.apiserver import ApiServer, read_api_server
from drillbook.platform.prometheus.config import require_loopback, scraped_addresses

pytestmark = pytest.mark.live

SCENARIOS = Path(__file__).resolve().parents[3] / "scenarios"
SYSTEM = "chat-rooms"
NAMESPACE, SELECTOR = "production", "app=chat-rooms-api"


@pytest.fixture(scope="module")
def through_api_server() -> Iterator[tuple[KubeSandbox, PrometheusAction, ApiServer]]:
    with tempfile.TemporaryDirectory(prefix="drillbook-prometheus-apiserver-") as tmp:
        box = provision_local(SCENARIOS / SYSTEM, Path(tmp))
        prometheus = PrometheusAction()
        try:
            api_server = read_api_server(Path(box.kube_env["KUBECONFIG"]))
            assert isinstance(api_server, ApiServer), api_server
            context = PrometheusContext(
                scenario=box.scenario,
                cluster=ThroughApiServer(api_server),
                api_client=box.api_client,
                service_address=box.access.address,
                state_dir=Path(tmp) / "through-api-server",
                evidence_dir=Path(tmp) / "through-api-server-evidence",
            )
            prometheus.up(context)
            yield box, prometheus, api_server
        finally:
            prometheus.down()
            box.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _eventually(prometheus: PrometheusAction, expr: str, want: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    result: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        body = _get(f"{prometheus.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
        result = body["data"]["result"]
        if len(result) >= want:
            return result
        time.sleep(0.5)
    raise AssertionError(f"{expr} gave {len(result)} series within {timeout_s:.0f} s, expected {want}: {result}")


def test_every_app_pod_is_up_when_scraped_through_the_api_servers_pod_proxy(
    through_api_server: tuple[KubeSandbox, PrometheusAction, ApiServer],
) -> None:
    box, prometheus, _api = through_api_server
    names = set(box.kubectl("get", "pods", "-n", NAMESPACE, "-l", SELECTOR, "-o", "name").replace("pod/", "").split())
    assert len(names) >= 2
    up = _eventually(prometheus, 'up{job="app"} == 1', want=len(names))
    assert {series["metric"]["pod"] for series in up} == names
    assert {series["metric"]["namespace"] for series in up} == {NAMESPACE}
    requests = _eventually(prometheus, 'http_requests_total{job="app"}', want=1)
    assert {series["metric"]["pod"] for series in requests} <= names, "the stand-in's own series, labelled per pod"


def test_container_memory_comes_from_the_nodes_cadvisor_through_the_api_server(
    through_api_server: tuple[KubeSandbox, PrometheusAction, ApiServer],
) -> None:
    _box, prometheus, _api = through_api_server
    memory = _eventually(prometheus, f'container_memory_working_set_bytes{{namespace="{NAMESPACE}"}}', want=3)
    assert {m["metric"]["job"] for m in memory} == {"kubelet"}
    assert {m["metric"]["instance"] for m in memory} == {"localkube"}
    assert {"chat-rooms-api", "postgres", "redis"} <= {m["metric"]["container"] for m in memory}
    restarts = _eventually(prometheus, f'kube_pod_container_status_restarts_total{{namespace="{NAMESPACE}"}}', want=3)
    assert {r["metric"]["job"] for r in restarts} == {"kube-state"}


def test_every_address_the_config_scrapes_is_loopback_and_pods_and_nodes_go_through_the_api_server(
    through_api_server: tuple[KubeSandbox, PrometheusAction, ApiServer],
) -> None:
    _box, prometheus, api = through_api_server
    assert prometheus.config_file is not None
    addresses = scraped_addresses(prometheus.config_file)
    for address in addresses:
        require_loopback(address)  # raises for anything off loopback
    active = _get(f"{prometheus.url}/api/v1/targets")["data"]["activeTargets"]
    by_job: dict[str, list[str]] = {}
    for target in active:
        by_job.setdefault(target["labels"]["job"], []).append(target["scrapeUrl"])
    assert set(by_job) >= {"app", "kubelet", "kube-state", "postgres", "redis", "prometheus"}
    assert all(url.startswith(f"http://{api.address}/api/v1/namespaces/{NAMESPACE}/pods/") for url in by_job["app"])
    assert by_job["kubelet"] == [f"http://{api.address}/api/v1/nodes/localkube/proxy/metrics/cadvisor"]
    for target in active:
        require_loopback(target["discoveredLabels"]["__address__"])
