"""Errors the kubelet raises to its caller (the API server) and uses internally."""

from __future__ import annotations

from drillbook.errors import ClusterError


class KubeletError(ClusterError):
    """A logs/exec/metrics request the kubelet cannot serve; ``http_status`` is what the API server should answer."""

    def __init__(self, message: str, *, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status


class ContainerConfigError(ClusterError):
    """A container's environment refers to a secret, configmap or key that does not exist (retried by the kubelet)."""
