"""Pod restart counts as kube-state-metrics names them (``kube_pod_container_status_restarts_total``).

Runbook alerts such as "Pod restart count > 5 in 10 minutes" read this series on a real cluster. The sandbox has
no kube-state-metrics, so the container exporter serves it too, read from the cluster's pod statuses with the
real ``kubernetes`` client, labelled ``namespace``, ``pod``, ``container`` as kube-state-metrics labels it.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client


class RestartCounts:
    """Renders every container's restart count from the API server's pod statuses."""

    def __init__(self, api_client: Any) -> None:
        self.core = client.CoreV1Api(api_client)

    def render(self) -> str:
        """The series in Prometheus text format (empty families when the listing fails)."""
        lines = [
            "# HELP kube_pod_container_status_restarts_total The number of container restarts per container.",
            "# TYPE kube_pod_container_status_restarts_total counter",
        ]
        try:
            pods: list[Any] = self.core.list_pod_for_all_namespaces().items
        except Exception:  # the API server restarting: no sample this time, never a made-up one
            return "\n".join(lines) + "\n"
        for pod in pods:
            for status in (pod.status.container_statuses or []) if pod.status is not None else []:
                labels = f'namespace="{pod.metadata.namespace}",pod="{pod.metadata.name}",container="{status.name}"'
                lines.append(f"kube_pod_container_status_restarts_total{{{labels}}} {int(status.restart_count or 0)}")
        return "\n".join(lines) + "\n"
