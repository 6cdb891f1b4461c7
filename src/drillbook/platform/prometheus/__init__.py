"""A real Prometheus in the sandbox (Debian's package): scrapes the app pods, the containers and the datastores.

* :class:`PrometheusAction` — the bring-up action (``up(context)`` / ``down()``), see :mod:`.action`;
* :func:`prometheus_process` — the bare server (:mod:`.process`), with generated config (:mod:`.config`);
* :func:`with_prometheus` — the bindings hook that points the runbook's Prometheus URLs at it (:mod:`.bindings`);
* :class:`PrometheusClient` — the HTTP API client (:mod:`.client`) the PromQL checks in ``slo/`` are given.
"""

from drillbook.platform.prometheus.action import PrometheusAction, PrometheusContext
from drillbook.platform.prometheus.bindings import PROMETHEUS_URLS, prometheus_bindings, with_prometheus
from drillbook.platform.prometheus.client import PrometheusClient, PromQLError
from drillbook.platform.prometheus.process import ServerProcess, prometheus_process

__all__ = [
    "PROMETHEUS_URLS",
    "PromQLError",
    "PrometheusAction",
    "PrometheusClient",
    "PrometheusContext",
    "ServerProcess",
    "prometheus_bindings",
    "prometheus_process",
    "with_prometheus",
]
