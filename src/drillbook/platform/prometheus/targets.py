"""App pod targets that follow pod replacement: the cluster's pods, rewritten into a file_sd file.

A fault that kills or rolls pods gives them new IPs; Prometheus must scrape the new pods within seconds, as it
would through Kubernetes service discovery. :class:`PodTargetWriter` lists the app's pods with the real
``kubernetes`` client every ``period_s`` and rewrites the file_sd JSON when the set changes (Prometheus watches
the file). Only pod IPs on loopback are written (localkube's pods live in 127.10.0.0/16).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any

from kubernetes import client

from drillbook.errors import SandboxError
from drillbook.platform.prometheus.config import TargetGroup, require_loopback, write_file_sd

log = logging.getLogger(__name__)


def pod_targets(core: Any, namespace: str, selector: str, container: str | None) -> list[TargetGroup]:
    """One group per running pod with an IP: ``podIP:containerPort``, labelled namespace and pod."""
    listing = core.list_namespaced_pod(namespace, label_selector=selector)
    groups: list[TargetGroup] = []
    for pod in listing.items:
        ip = pod.status.pod_ip if pod.status is not None else None
        if not ip or pod.metadata.deletion_timestamp is not None or pod.status.phase != "Running":
            continue
        port = _metrics_port(pod, container)
        if port is None:
            continue
        try:
            target = require_loopback(f"{ip}:{port}")
        except SandboxError:
            log.warning("not scraping pod %s at %s: not a sandbox address", pod.metadata.name, ip)
            continue
        labels = {"namespace": namespace, "pod": str(pod.metadata.name)}
        groups.append(TargetGroup(targets=(target,), labels=labels))
    return sorted(groups, key=lambda g: g.targets)


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
        period_s: float = 0.5,
    ) -> None:
        self.core = client.CoreV1Api(api_client)
        self.path = path
        self.namespace = namespace
        self.selector = selector
        self.container = container
        self.period_s = period_s
        self._written: list[TargetGroup] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="prometheus-pod-targets", daemon=True)

    def refresh(self) -> list[TargetGroup]:
        """List the pods now and rewrite the file when the targets changed."""
        groups = pod_targets(self.core, self.namespace, self.selector, self.container)
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
