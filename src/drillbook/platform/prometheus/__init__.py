"""A real Prometheus in the sandbox (Debian's package): scrapes the app pods, the containers and the datastores.

* :class:`PrometheusAction` — the bring-up action (``up(context)`` / ``down()``), see :mod:`.action`;
* :class:`PodsOnLoopback` / :class:`ThroughApiServer` — how it reaches the cluster's pods and container metrics
  (localkube's loopback pods, or a real cluster's API server proxy), see :mod:`.modes`; :class:`LeftOut` says why
  a sandbox has no Prometheus (an API server off loopback);
* :func:`prometheus_process` — the bare server (:mod:`.process`), with generated config (:mod:`.config`);
* :func:`with_prometheus` — the bindings hook that points the runbook's Prometheus URLs at it (:mod:`.bindings`);
* :class:`PrometheusClient` — the HTTP API client (:mod:`.client`) the PromQL checks in ``slo/`` are given.
"""

from drillbook.platform.prometheus.action import PrometheusAction, PrometheusContext
from drillbook.platform.prometheus.apiserver import LeftOut
from drillbook.platform.prometheus.bindings import PROMETHEUS_URLS, prometheus_bindings, with_prometheus
from drillbook.platform.prometheus.client import PrometheusClient, PromQLError
from drillbook.platform.prometheus.modes import ClusterScrape, PodsOnLoopback, ThroughApiServer, through_api_server
from drillbook.platform.prometheus.process import ServerProcess, prometheus_process

__all__ = [
    "PROMETHEUS_URLS",
    "ClusterScrape",
    "LeftOut",
    "PodsOnLoopback",
    "PromQLError",
    "PrometheusAction",
    "PrometheusClient",
    "PrometheusContext",
    "ServerProcess",
    "ThroughApiServer",
    "prometheus_bindings",
    "prometheus_process",
    "through_api_server",
    "with_prometheus",
]
