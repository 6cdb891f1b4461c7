"""The ``metrics`` bring-up action every provider runs last: Prometheus against the deployed sandbox.

The provider says how its cluster is reached (``cluster``, called when the action runs: a real cluster's
kubeconfig exists only once the cluster does) — localkube's pods on loopback, or a real cluster through its API
server — and this action starts :class:`~drillbook.platform.prometheus.action.PrometheusAction` with it, then
hands its URL and rule loader to the sandbox. When the cluster cannot be scraped from loopback
(:class:`~drillbook.platform.prometheus.apiserver.LeftOut`), nothing starts and the reason is the action's
journaled fact: the runbook's Prometheus URLs keep the scenario's "not part of the sandbox" binding.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from drillbook.platform.bringup import Action, Facts, UndoSpec
from drillbook.platform.prometheus.action import PrometheusAction, PrometheusContext
from drillbook.platform.prometheus.apiserver import LeftOut
from drillbook.platform.prometheus.modes import ClusterScrape, through_api_server
from drillbook.scenario import Scenario

if TYPE_CHECKING:
    from drillbook.platform.kube_sandbox import KubeSandbox

ACTION = "metrics"

DIR_PREFIX = "drillbook-prometheus-"
"""A real cluster's Prometheus keeps its state (TSDB, the kubeconfig's credentials as files) in a temp dir of its
own, ``/tmp/drillbook-prometheus-…``: the sandbox's evidence directory outlives the run and must not hold a key."""


def prometheus_state_dir() -> Path:
    """A fresh temp dir's path for a real cluster's Prometheus (made by the action; removed by its undo)."""
    return Path(tempfile.gettempdir()) / f"{DIR_PREFIX}{uuid.uuid4().hex[:10]}"


def metrics_action(
    prometheus: PrometheusAction,
    sandbox: Callable[[], KubeSandbox],
    scenario: Scenario,
    *,
    cluster: Callable[[], ClusterScrape | LeftOut],
    state_dir: Path,
    evidence: Path,
    replay: UndoSpec | None = None,
) -> Action:
    """Start Prometheus and its exporters against the deployed ``sandbox()``; the undo is ``prometheus.down``.

    ``replay``: how ``drillbook cleanup`` removes ``state_dir`` after a kill, when nothing else does (on localkube
    it lies inside the sandbox's state dir, which goes with it).
    """

    def start() -> Facts:
        how = cluster()
        if isinstance(how, LeftOut):
            return {"left_out": how.reason}
        up = sandbox()
        prometheus.up(
            PrometheusContext(
                scenario=scenario,
                cluster=how,
                api_client=up.api_client,
                service_address=up.access.address,
                state_dir=state_dir,
                evidence_dir=evidence,
            )
        )
        up.prometheus_url = prometheus.url
        up.prometheus_rules = prometheus.load_rules
        return {"url": prometheus.url, "reaches": type(how).__name__}

    return Action(ACTION, start, prometheus.down, replay)


def cluster_metrics_action(
    prometheus: PrometheusAction,
    sandbox: Callable[[], KubeSandbox],
    scenario: Scenario,
    kubeconfig: Path,
    evidence: Path,
) -> Action:
    """The metrics action of a real cluster (kind, k3s, existing): through the API server that ``kubeconfig`` (the
    sandbox's own) names, with its state in a temp dir of its own that cleanup removes after a kill."""
    state = prometheus_state_dir()
    replay = UndoSpec("remove-dir", f"remove {state}", {"path": str(state)})
    return metrics_action(
        prometheus,
        sandbox,
        scenario,
        cluster=lambda: through_api_server(kubeconfig),
        state_dir=state,
        evidence=evidence,
        replay=replay,
    )
