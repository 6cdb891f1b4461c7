"""The embedded local platform: localkube with pods as local processes; no Docker needed.

Each drill gets a fresh cluster in its own temp state directory: localkube starts, the scenario's manifests
are applied with the real kubectl, and the drill runs once every Deployment is Available. Closing stops
localkube (whose kubelet ends every pod's process group) and keeps localkube's log in the run directory.
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
from drillbook.platform.prometheus import PrometheusAction, PrometheusContext
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

    prometheus = PrometheusAction()  # the metrics bring-up action (block at the end of provisioning)

    def close() -> None:
        prometheus.down()
        kube.stop()
        with contextlib.suppress(OSError):
            shutil.copy(kube.log_path, evidence / "localkube.log")
        shutil.rmtree(state, ignore_errors=True)

    try:
        kube.start()
        sandbox = KubeSandbox(
            scenario=scenario,
            platform=Platform.LOCAL,
            kube_env=kube.env(),
            workdir=evidence,
            access_factory=ClusterIPAccess,
            on_close=close,
        )
    except BaseException:
        close()
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
    # -- metrics (Prometheus): the last bring-up action; `close` runs its undo (prometheus.down) first -------
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
    # -- end of metrics ---------------------------------------------------------------------------------------
    return sandbox
