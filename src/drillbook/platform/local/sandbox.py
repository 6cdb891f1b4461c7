"""The embedded local platform: localkube with pods as local processes; no Docker needed.

Each drill gets a fresh sandbox, brought up in order, each action's undo stacked before it acts:

1. cluster: localkube in its own temp state directory;
2. fault proxy: drillbook's Toxiproxy-compatible server, in front of every datastore (``platform/fault_proxy.py``),
   so the latency, partition and proxy-mode redis-outage faults work in every drill;
3. deploy: the scenario's manifests, applied with the real kubectl, routed through the proxy; the drill runs
   once every Deployment is Available;
4. snapshot: the first drill of a system in a run copies its provisioned PostgreSQL (schema and seed rows) with
   ``pg_basebackup``; later drills offer that copy to their PostgreSQL pod, which starts from it instead of the
   empty template, so the application does not seed again (``datastores/snapshot.py``).

Closing runs the undos in reverse, also when a bring-up action fails: the proxy stops, localkube stops (its
kubelet ends every pod's process group), and the logs are kept in the run directory. The state directory (the
pods' data, azora's copy of 2M users among it) is deleted by a background thread, so the next drill does not wait
for the disk (6.5 s of a 13 s teardown on a loaded machine); the process waits for that thread before it exits.
Every process started here dies with the thread that started it (``die_with_parent``), so nothing outlives a
killed run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import DrillbookError, SandboxError
from drillbook.journal import Platform
from drillbook.platform.kube_sandbox import ClusterIPAccess, KubeSandbox
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.datastores.snapshot import SNAPSHOT_ENV, offer_snapshots, snapshot_key, take_snapshot
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
    snapshots = run_dir / "snapshots" / scenario.name
    offered = offer_snapshots(snapshots, state / "pg-snapshots")
    images = [IMAGES_FILE, scenario.images, _snapshot_images([IMAGES_FILE, scenario.images], state)]
    kube = LocalKubeProcess(state_dir=state / "kube", images=images, time_factor=time_factor)
    proxy = ToxiproxyProcess(log_file=evidence / "toxiproxy.log")
    undos = UndoStack()
    undos.push(lambda: remove_later(state))

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
    try:
        _snapshot(sandbox, snapshots, evidence, offered)
    except BaseException:  # Ctrl-C while copying: tear down like any other bring-up action
        sandbox.close()
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
    # -- end of metrics ---------------------------------------------------------------------------------------
    return sandbox


def remove_later(path: Path) -> None:
    """Delete ``path`` in a background thread the interpreter waits for at exit.

    It stays where it is while it goes, so ``drillbook cleanup`` still finds what a killed run left half-deleted.
    """
    threading.Thread(target=shutil.rmtree, args=(path,), kwargs={"ignore_errors": True}, daemon=False).start()


def _snapshot_images(image_files: list[Path], state: Path) -> Path:
    """An image map that gives every PostgreSQL image this sandbox's snapshot offers (later files win)."""
    entries: dict[str, Any] = {}
    for path in image_files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue  # localkube reads it too, and reports what is wrong with it (file and entry)
        images = data.get("images") if isinstance(data, dict) else None
        entries.update(images if isinstance(images, dict) else {})
    postgres = {
        ref: {**entry, "env": {**(entry.get("env") or {}), SNAPSHOT_ENV: str(state / "pg-snapshots")}}
        for ref, entry in entries.items()
        if isinstance(entry, dict) and any("postgres_entrypoint" in str(part) for part in entry.get("entrypoint") or [])
    }
    path = state / "snapshot-images.yaml"
    path.write_text(yaml.safe_dump({"images": postgres}, sort_keys=False), encoding="utf-8")
    return path


def _snapshot(sandbox: KubeSandbox, snapshots: Path, evidence: Path, offered: int) -> None:
    """The first drill of a system in this run copies its provisioned database for the next ones.

    Best effort: a copy that fails costs the later drills their head start, never this drill; why is logged in
    the sandbox's evidence (``snapshot.log``).
    """
    pg = sandbox.scenario.postgres
    if pg is None or offered:
        return
    log = evidence / "snapshot.log"
    started = time.monotonic()
    try:
        host, port = sandbox.direct_address("postgres", pg.namespace, pg.service, pg.port)
        key = snapshot_key(pg.deployment, pg.database, pg.admin_user, pg.user if pg.user != pg.admin_user else "")
        where = take_snapshot(snapshots, key, host=host, port=port, user=pg.admin_user, password=pg.admin_password)
    except (DrillbookError, OSError) as exc:
        log.write_text(f"no snapshot of {sandbox.scenario.name}'s PostgreSQL; later drills seed it again: {exc}\n")
        return
    log.write_text(f"snapshot of {sandbox.scenario.name}'s PostgreSQL in {time.monotonic() - started:.1f} s: {where}\n")
