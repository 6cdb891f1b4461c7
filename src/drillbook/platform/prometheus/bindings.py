"""The Prometheus binding every sandbox adds by itself: the runbook's Prometheus URLs reach the sandbox's one.

Runbooks name their Prometheus in many ways (``http://localhost:9090`` through a port-forward,
``http://prometheus:9090`` in-cluster, ``https://prometheus.example.com`` behind an ingress). All of them bind
to the sandbox's Prometheus, so a PromQL ``curl`` step runs verbatim and answers with the drill's samples. The
scenario's own ``bindings.yaml`` still wins for a URL it binds itself (see :func:`with_prometheus`).
"""

from __future__ import annotations

from dataclasses import replace

from drillbook.execute.bindings import Bindings, Target

PROMETHEUS_URLS = (
    "http://localhost:9090",
    "http://127.0.0.1:9090",
    "http://prometheus:9090",
    "http://prometheus.monitoring:9090",
    "http://prometheus.monitoring.svc:9090",
    "http://prometheus.monitoring.svc.cluster.local:9090",
    "http://prometheus-server",
    "http://prometheus-operated:9090",
    "https://prometheus.example.com",
    "http://prometheus.example.com",
)
"""URL prefixes runbooks use for their Prometheus (the seeds use the first, third and ninth)."""


def prometheus_bindings(url: str) -> Bindings:
    """Bindings from every known Prometheus URL prefix to ``url`` (the sandbox's Prometheus)."""
    target = Target(line=0, value=url.rstrip("/"))
    return Bindings(path=None, urls=dict.fromkeys(PROMETHEUS_URLS, target))


def with_prometheus(bindings: Bindings, url: str | None) -> Bindings:
    """``bindings`` plus the Prometheus binding; the hook the sandbox's step runner calls.

    The scenario's own URL bindings win. An ``unbound`` entry for a Prometheus URL ("Prometheus is not part of
    the sandbox", written before the sandbox had one) is dropped, since the URL is now bound.
    """
    if url is None:
        return bindings
    extra = prometheus_bindings(url)
    urls = {**extra.urls, **bindings.urls}
    unbound = {prefix: why for prefix, why in bindings.unbound.items() if prefix.rstrip("/") not in urls}
    return replace(bindings, urls=urls, unbound=unbound)
