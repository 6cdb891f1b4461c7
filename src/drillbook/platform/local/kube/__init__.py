"""localkube: an embedded Kubernetes API server, controllers and service proxies for the local platform.

Use ``LocalKubeProcess`` (a supervised child process) from fixtures and ``LocalKube`` (in-process, async)
from unit tests; both expose ``kubeconfig``, ``url`` and ``env()`` for kubectl and clients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drillbook.platform.local.kube.cluster import LocalKube, LocalKubeProcess

__all__ = ["LocalKube", "LocalKubeProcess"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the kubelet subpackage does not pull in the API server.
    if name in __all__:
        from drillbook.platform.local.kube import cluster

        return getattr(cluster, name)
    raise AttributeError(name)
