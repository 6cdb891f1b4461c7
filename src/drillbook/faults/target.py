"""What a fault may act on. Everything is reached through platform interfaces (Kubernetes API,
datastore DSNs, the Toxiproxy HTTP API), so a fault works the same on localkube and a real cluster."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Workload:
    """A Deployment (and optionally one of its containers)."""

    namespace: str
    name: str
    container: str | None = None
    selector: str = ""
    """Label selector of its pods (``app=api-gateway``)."""


class TrafficControl(Protocol):
    """The running traffic generator, for faults that change load."""

    @property
    def users(self) -> int:
        """The current number of simulated users."""

    def set_users(self, users: int) -> None:
        """Change the number of simulated users without restarting."""


@dataclass
class FaultTarget:
    """The sandboxed system a fault is injected into."""

    workdir: Path
    """A per-run directory for a fault's helper processes and files."""
    kube_env: Mapping[str, str]
    """Environment for Kubernetes clients: ``KUBECONFIG`` (and ``KUBECACHEDIR``)."""
    app: Workload
    postgres_dsn: str | None = None
    """DSN as the application's user (its connections count against ``max_connections`` like the app's)."""
    postgres_admin_dsn: str | None = None
    postgres: Workload | None = None
    redis_url: str | None = None
    redis: Workload | None = None
    toxiproxy_url: str | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    """Dependency name (``postgres``, ``redis``) → Toxiproxy proxy name in front of it."""
    traffic: TrafficControl | None = None
