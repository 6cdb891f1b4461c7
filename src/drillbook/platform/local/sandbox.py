"""The embedded local platform: localkube with pods as local processes; no Docker needed.

Each drill gets a fresh sandbox, brought up in order, each action's undo stacked before it acts:

1. cluster: localkube in its own temp state directory;
2. fault proxy: drillbook's Toxiproxy-compatible server, in front of every datastore (``platform/fault_proxy.py``),
   so the latency, partition and proxy-mode redis-outage faults work in every drill;
3. deploy: the scenario's manifests, applied with the real kubectl, routed through the proxy; the drill runs
   once every Deployment is Available.

Closing runs the undos in reverse, also when a bring-up action fails: the proxy stops, localkube stops (its
kubelet ends every pod's process group), and the logs are kept in the run directory. Every process started
here dies with the thread that started it (``die_with_parent``), so nothing outlives a killed run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
from pathlib import Path

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import DrillbookError, SandboxError
from drillbook.journal import Platform
from drillbook.platform.kube_sandbox import ClusterIPAccess, KubeSandbox
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.record import SandboxRecord, record
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.platform.prometheus import PrometheusAction, PrometheusContext
from drillbook.platform.undo import UndoStack
from drillbook.scenario import load_scenario

DEFAULT_TIME_FACTOR = 0.2
"""Kubelet back-offs, probe periods and grace periods run 5x faster than on a real node: a CrashLoopBackOff
that would wait 10 s waits 2 s, so drills stay short while keeping the real sequence of states."""

_counter = itertools.count(1)


def provider(scenarios_dir: Path, run_dir: Path) -> SandboxFactory:
    """A factory that provisions a scenario on a fresh localkube."""

    def provision(system: str) -> Sandbox:
        return provision_local(scenarios_dir / system, run_dir)

    return provision


def provision_local(scenario_dir: Path, run_dir: Path, *, time_factor: float | None = None) -> KubeSandbox:
    """Start localkube, deploy the scenario and wait until it is available."""
    scenario = load_scenario(scenario_dir)
    if time_factor is None:
        time_factor = float(os.environ.get("DRILLBOOK_TIME_FACTOR", DEFAULT_TIME_FACTOR))
    evidence = run_dir / "sandboxes" / f"{scenario.name}-{next(_counter)}"
    evidence.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix=f"drillbook-{scenario.name}-"))
    os.chmod(state, 0o755)  # pod processes may run as other users (PostgreSQL refuses root)
    kube = LocalKubeProcess(state_dir=state / "kube", images=[IMAGES_FILE, scenario.images], time_factor=time_factor)
    proxy = ToxiproxyProcess(log_file=evidence / "toxiproxy.log")
    undos = UndoStack()
    undos.push(lambda: shutil.rmtree(state, ignore_errors=True))

    prometheus = PrometheusAction()  # the metrics bring-up action (block at the end of provisioning)

    def stop_kube() -> None:
        kube.stop()
        with contextlib.suppress(OSError):
            shutil.copy(kube.log_path, evidence / "localkube.log")

    # For `drillbook cleanup` after a kill: the state dir at once, the cluster's identity once it answers.
    SandboxRecord(os.getpid(), str(state), str(kube.kubeconfig), "", "").write(evidence)
    try:
        undos.push(stop_kube)
        kube.start()
        record(evidence, state_dir=state, kubeconfig=kube.kubeconfig, server=kube.url)
        undos.push(proxy.stop)
        proxy.start()
        sandbox = KubeSandbox(
            scenario=scenario,
            platform=Platform.LOCAL,
            kube_env=kube.env(),
            workdir=evidence,
            access_factory=ClusterIPAccess,
            on_close=undos.close,
            fault_proxy_url=proxy.url,
        )
    except BaseException:
        undos.close()
        raise
    try:
        sandbox.deploy()
    except DrillbookError:
        sandbox.close()
        raise
    except BaseException as exc:
        sandbox.close()
        if isinstance(exc, Exception):
            raise SandboxError(f"the {scenario.name} system could not be provisioned: {exc}") from exc
        raise
    # -- metrics (Prometheus): the last bring-up action; its undo runs first on close -------------------------
    undos.push(prometheus.down)
    try:
        prometheus.up(
            PrometheusContext(
                scenario=scenario,
                api_client=sandbox.api_client,
                service_address=sandbox.access.address,
                state_dir=state / "prometheus",
                evidence_dir=evidence,
                kube_state_dir=state / "kube",
            )
        )
    except BaseException:
        sandbox.close()
        raise
    sandbox.prometheus_url = prometheus.url
    sandbox.prometheus_rules = prometheus.load_rules
    # -- end of metrics ---------------------------------------------------------------------------------------
    return sandbox
