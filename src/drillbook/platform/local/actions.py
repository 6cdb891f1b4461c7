"""Bring-up actions the platforms that run localkube share: the cluster, the fault proxy and the metrics.

``local`` and ``docker`` both run localkube as the cluster, drillbook's Toxiproxy-compatible server as the fault
proxy and a real Prometheus as the last action; only their datastores differ (pods on ``local``, containers on
``docker``). Each function returns one :class:`~drillbook.platform.bringup.Action` with its undo and, where a
killed run leaves something behind, the replayable undo ``drillbook cleanup`` needs.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path

from drillbook.platform.bringup import Action, Facts, UndoSpec, process_facts
from drillbook.platform.kube_sandbox import KubeSandbox
from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.platform.prometheus import PodsOnLoopback, PrometheusAction
from drillbook.platform.prometheus.bringup import metrics_action as prometheus_metrics_action
from drillbook.scenario import Scenario


def cluster_action(kube: LocalKubeProcess, evidence: Path, on_started: Callable[[], None] | None = None) -> Action:
    """Start localkube (``on_started`` runs once it answers); the undo stops it and keeps its log in ``evidence``."""

    def start() -> Facts:
        kube.start()
        if on_started is not None:
            on_started()
        process = kube.process
        pid = process.pid if process is not None and process.poll() is None else None
        return {**process_facts(pid), "server": kube.url}

    def stop() -> None:
        kube.stop()
        with contextlib.suppress(OSError):
            shutil.copy(kube.log_path, evidence / "localkube.log")

    return Action("cluster", start, stop, UndoSpec("stop-process", "stop localkube"))


def fault_proxy_action(proxy: ToxiproxyProcess) -> Action:
    """Start the fault proxy; the undo stops it."""

    def start() -> Facts:
        proxy.start()
        return {**process_facts(proxy.pid), "url": proxy.url}

    return Action("fault proxy", start, proxy.stop, UndoSpec("stop-process", "stop the fault proxy"))


def metrics_action(
    prometheus: PrometheusAction,
    sandbox: Callable[[], KubeSandbox],
    scenario: Scenario,
    state: Path,
    evidence: Path,
) -> Action:
    """Start Prometheus and its exporters against the deployed ``sandbox()``; the undo stops them all.

    localkube's pods are process groups on this machine with loopback IPs, so they are scraped directly and their
    container metrics are served from its state directory (``state/kube``): :class:`PodsOnLoopback`. A datastore
    outside the cluster (a container) is scraped through its Service, as the app reaches it.
    """
    pods = PodsOnLoopback(state / "kube")
    return prometheus_metrics_action(
        prometheus, sandbox, scenario, cluster=lambda: pods, state_dir=state / "prometheus", evidence=evidence
    )
