"""How the sandbox's Prometheus reaches the app pods and the containers' metrics: one choice per kind of cluster.

* :class:`PodsOnLoopback` — localkube: its pods are process groups on this machine with loopback IPs, so each pod
  is scraped on ``podIP:port`` and container metrics come from drillbook's cAdvisor-style exporter, which reads
  localkube's state directory (plus the pods' restart counts);
* :class:`ThroughApiServer` — kind, k3s, an existing cluster: pod IPs are not reachable from the host, the API
  server is (on loopback), so every target is the API server and the path picks the pod
  (``/api/v1/namespaces/NS/pods/POD:PORT/proxy/metrics``) or the node's kubelet cAdvisor
  (``/api/v1/nodes/NODE/proxy/metrics/cadvisor``), with the kubeconfig's credentials; the restart counts are served
  by a loopback exporter that reads the pods' statuses through the API.

Each mode's :meth:`~ClusterScrape.start` starts what it needs, stacking each stop with ``defer`` before it starts,
and returns the scrape jobs. The datastores' exporters are the same in both (:mod:`.action`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kubernetes import client

from drillbook.platform.prometheus.apiserver import ApiServer, LeftOut, node_cadvisor_path, read_api_server
from drillbook.platform.prometheus.cadvisor import CadvisorExporter
from drillbook.platform.prometheus.config import ScrapeAuth, ScrapeJob, TargetGroup
from drillbook.platform.prometheus.exporter import MetricsExporter
from drillbook.platform.prometheus.kube_state import RestartCounts
from drillbook.platform.prometheus.targets import ApiServerRoute, PodRoute, PodTargetWriter, pod_ip_route

if TYPE_CHECKING:
    from drillbook.platform.prometheus.action import PrometheusContext

APP_JOB = "app"
"""Job label of the app pods' series (``up{job="app"}``); :class:`~drillbook.slo.promql.PromqlWindows` selects it."""
KUBELET_JOB = "kubelet"
"""Job label of the container metrics (``container_memory_working_set_bytes``)."""

KUBE_STATE_JOB = "kube-state"
"""Job label of the restart counts on a real cluster (``kube_pod_container_status_restarts_total``)."""

Defer = Callable[[Callable[[], None]], None]
"""Stacks an undo (run in reverse by ``PrometheusAction.down``)."""


class ClusterScrape(Protocol):
    """How Prometheus reaches one cluster's app pods and container metrics."""

    def start(self, ctx: PrometheusContext, defer: Defer) -> list[ScrapeJob]:
        """Start what the jobs need (each stop deferred before it starts); return the jobs."""


def _app_pods(ctx: PrometheusContext, defer: Defer, route: PodRoute) -> PodTargetWriter:
    app = ctx.scenario.app
    pods = PodTargetWriter(
        ctx.api_client,
        ctx.state_dir / "app-pods.json",
        namespace=app.namespace,
        selector=app.selector or f"app={app.deployment}",
        container=app.container,
        route=route,
    )
    defer(pods.stop)
    pods.start()
    return pods


@dataclass(frozen=True)
class PodsOnLoopback:
    """localkube: scrape each pod on its loopback IP; container metrics from localkube's state directory."""

    kube_state_dir: Path
    """localkube's state directory: the container exporter meters its pods' process groups."""

    def start(self, ctx: PrometheusContext, defer: Defer) -> list[ScrapeJob]:
        """Follow the app pods and start the container exporter; their jobs (:meth:`jobs`)."""
        pods = _app_pods(ctx, defer, pod_ip_route)
        cadvisor = CadvisorExporter(self.kube_state_dir, extra=RestartCounts(ctx.api_client).render)
        defer(cadvisor.stop)
        cadvisor.start()
        return self.jobs(pods.path, cadvisor.address)

    @staticmethod
    def jobs(pods_file: Path, cadvisor: str) -> list[ScrapeJob]:
        """The app pods' file_sd job (pod IPs) and the container exporter's job (also the restart counts)."""
        return [ScrapeJob(APP_JOB, file_sd=pods_file), ScrapeJob(KUBELET_JOB, static=(cadvisor,))]


@dataclass(frozen=True)
class ThroughApiServer:
    """A real cluster: scrape the pods and the nodes' cAdvisor through the API server's proxy, on loopback."""

    api_server: ApiServer

    def start(self, ctx: PrometheusContext, defer: Defer) -> list[ScrapeJob]:
        """Write the credentials, follow the app pods, list the nodes, start the restart counts' exporter; their
        jobs (:meth:`jobs`)."""
        auth = self.api_server.auth(ctx.state_dir / "apiserver")
        pods = _app_pods(ctx, defer, ApiServerRoute(self.api_server.address))
        nodes = client.CoreV1Api(ctx.api_client).list_node().items
        names = sorted(str(node.metadata.name) for node in nodes if node.metadata is not None)
        restarts = MetricsExporter(RestartCounts(ctx.api_client).render, name="kube-state")
        defer(restarts.stop)
        restarts.start()
        return self.jobs(pods.path, auth, names, restarts.address)

    def jobs(self, pods_file: Path, auth: ScrapeAuth, nodes: Sequence[str], restarts: str) -> list[ScrapeJob]:
        """The app pods' file_sd job and one cAdvisor group per node, both to the API server with the kubeconfig's
        credentials, and the restart counts' loopback exporter."""
        address = self.api_server.address
        cadvisor = tuple(
            TargetGroup((address,), {"instance": node, "__metrics_path__": node_cadvisor_path(node)}) for node in nodes
        )
        return [
            ScrapeJob(APP_JOB, file_sd=pods_file, auth=auth),
            ScrapeJob(KUBELET_JOB, groups=cadvisor, auth=auth),
            ScrapeJob(KUBE_STATE_JOB, static=(restarts,)),
        ]


def through_api_server(kubeconfig: Path) -> ThroughApiServer | LeftOut:
    """The mode for a real cluster whose sandbox kubeconfig is ``kubeconfig``, or why Prometheus is left out."""
    found = read_api_server(kubeconfig)
    return found if isinstance(found, LeftOut) else ThroughApiServer(found)
