"""App pod targets that follow pod replacement: the cluster's pods, rewritten into a file_sd file.

A fault that kills or rolls pods gives them new IPs; Prometheus must scrape the new pods within seconds, as it
would through Kubernetes service discovery. :class:`PodTargetWriter` lists the app's pods with the real
``kubernetes`` client every ``period_s`` and rewrites the file_sd JSON when the set changes (Prometheus watches
the file). How a pod is reached is a :data:`PodRoute`: :func:`pod_ip_route` scrapes the pod IP itself, which only
localkube's pods allow (they live in 127.10.0.0/16, and only loopback IPs are written);
:class:`ApiServerRoute` scrapes a real cluster's pods through the API server's proxy, on its loopback address.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from drillbook.errors import SandboxError
from drillbook.platform.prometheus.apiserver import pod_proxy_path
from drillbook.platform.prometheus.config import TargetGroup, require_loopback, write_file_sd

log = logging.getLogger(__name__)

PodRoute = Callable[[str, str, str, int], TargetGroup | None]
"""(namespace, pod, pod IP, port) → the file_sd group that scrapes it, or ``None`` when it cannot be reached."""


def pod_ip_route(namespace: str, pod: str, ip: str, port: int) -> TargetGroup | None:
    """Scrape ``podIP:port`` itself, when the IP is on loopback (localkube's pods); labelled namespace and pod."""
    try:
        target = require_loopback(f"{ip}:{port}")
    except SandboxError:
        log.warning("not scraping pod %s at %s: not a sandbox address", pod, ip)
        return None
    return TargetGroup(targets=(target,), labels={"namespace": namespace, "pod": pod})


@dataclass(frozen=True)
class ApiServerRoute:
    """Scrape a pod through the API server's proxy: the target is the API server's loopback ``host:port``, the
    pod's path is its ``__metrics_path__``; ``instance`` stays ``podIP:port`` as Kubernetes discovery sets it."""

    api_server: str
    """The API server's loopback ``host:port``."""

    def __call__(self, namespace: str, pod: str, ip: str, port: int) -> TargetGroup | None:
        labels = {
            "namespace": namespace,
            "pod": pod,
            "instance": f"{ip}:{port}",
            "__metrics_path__": pod_proxy_path(namespace, pod, port),
        }
        return TargetGroup(targets=(require_loopback(self.api_server),), labels=labels)


def pod_targets(
    core: Any, namespace: str, selector: str, container: str | None, route: PodRoute = pod_ip_route
) -> list[TargetGroup]:
    """One group per running pod with an IP and a container port, as ``route`` reaches it."""
    listing = core.list_namespaced_pod(namespace, label_selector=selector)
    groups: list[TargetGroup] = []
    for pod in listing.items:
        ip = pod.status.pod_ip if pod.status is not None else None
        if not ip or pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
            continue
        port = _metrics_port(pod, container)
        if port is None:
            continue
        group = route(namespace, str(pod.metadata.name), str(ip), port)
        if group is not None:
            groups.append(group)
    return sorted(groups, key=lambda g: (g.targets, sorted(g.labels.items())))


def _metrics_port(pod: Any, container: str | None) -> int | None:
    containers = list(pod.spec.containers or [])
    chosen = [c for c in containers if c.name == container] or containers
    for c in chosen:
        for port in c.ports or []:
            return int(port.container_port)
    return None


class PodTargetWriter:
    """Keeps ``path`` listing the app's pods; a daemon thread, stopped with :meth:`stop`."""

    def __init__(
        self,
        api_client: Any,
        path: Path,
        *,
        namespace: str,
        selector: str,
        container: str | None,
        route: PodRoute = pod_ip_route,
        period_s: float = 0.5,
    ) -> None:
        self.core = client.CoreV1Api(api_client)
        self.path = path
        self.namespace = namespace
        self.selector = selector
        self.container = container
        self.route = route
        self.period_s = period_s
        self._written: list[TargetGroup] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prometheus-pod-targets", daemon=True)

    def refresh(self) -> list[TargetGroup]:
        """List the pods now and rewrite the file when the targets changed."""
        groups = pod_targets(self.core, self.namespace, self.selector, self.container, self.route)
        if groups != self._written:
            write_file_sd(self.path, groups)
            self._written = groups
        return groups

    def start(self) -> PodTargetWriter:
        """Write the first listing, then follow the pods in the background."""
        self.refresh()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            with contextlib.suppress(Exception):  # a failed listing keeps the last targets; the next one retries
                self.refresh()
