"""The embedded local platform: localkube with pods as local processes; no Docker needed.

Each drill gets a fresh sandbox, brought up as named actions over one :class:`LocalBringUp`, each journaled with
its undo before it acts (:mod:`drillbook.platform.bringup`):

1. state dir: the sandbox's temp directory (``/tmp/drillbook-<system>-…``);
2. cluster: localkube in it;
3. fault proxy: drillbook's Toxiproxy-compatible server, in front of every datastore (``platform/fault_proxy.py``),
   so the latency, partition and proxy-mode redis-outage faults work in every drill;
4. deploy: the scenario's manifests, applied with the real kubectl, routed through the proxy;
5. wait available: until every Deployment of the scenario is Available;
6. snapshot: the first drill of a system in a run copies its provisioned PostgreSQL (schema and seed rows) with
   ``pg_basebackup``; later drills offer that copy to their PostgreSQL pod, which starts from it instead of the
   empty template, so the application does not seed again (``datastores/snapshot.py``);
7. metrics: Prometheus (``platform/prometheus``).

Closing runs the undos in reverse, also when a bring-up action fails: Prometheus and the proxy stop, localkube
stops (its kubelet ends every pod's process group), and the logs are kept in the run directory. The state
directory (the pods' data, azora's copy of 2M users among it) is deleted by a background thread, so the next drill
does not wait for the disk; the process waits for that thread before it exits. Every process
started here also dies with the thread that started it (``die_with_parent``), and ``drillbook cleanup`` replays
whatever the journal says a killed run left.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import DrillbookError, SandboxError
from drillbook.journal import Platform
from drillbook.platform.bringup import Action, BringUp, Facts, UndoSpec
from drillbook.platform.kube_sandbox import ClusterIPAccess, KubeSandbox
from drillbook.platform.local.actions import cluster_action, fault_proxy_action, metrics_action
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.datastores.snapshot import SNAPSHOT_ENV, offer_snapshots, snapshot_key, take_snapshot
from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.record import SandboxRecord, record
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.platform.prometheus import PrometheusAction
from drillbook.scenario import Scenario, load_scenario

DEFAULT_TIME_FACTOR = 0.2
"""Kubelet back-offs, probe periods and grace periods run 5x faster than on a real node: a CrashLoopBackOff
that would wait 10 s waits 2 s, so drills stay short while keeping the real sequence of states."""

_counter = itertools.count(1)


def provider(scenarios_dir: Path, run_dir: Path) -> SandboxFactory:
    """A factory that provisions a scenario on a fresh localkube."""

    def provision(system: str) -> Sandbox:
        return provision_local(scenarios_dir / system, run_dir)

    return provision


def provision_local(
    scenario_dir: Path,
    run_dir: Path,
    *,
    time_factor: float | None = None,
    after_action: Callable[[str], None] | None = None,
) -> KubeSandbox:
    """Start localkube, deploy the scenario and wait until it is available (``after_action``: a test's hook)."""
    scenario = load_scenario(scenario_dir)
    if time_factor is None:
        time_factor = float(os.environ.get("DRILLBOOK_TIME_FACTOR", DEFAULT_TIME_FACTOR))
    evidence = run_dir / "sandboxes" / f"{scenario.name}-{next(_counter)}"
    evidence.mkdir(parents=True, exist_ok=True)
    ctx = LocalBringUp(scenario=scenario, evidence=evidence, time_factor=time_factor, run_dir=run_dir)
    bringup = BringUp(evidence, platform=Platform.LOCAL.value, after_action=after_action)
    try:
        bringup.run_all(local_actions(ctx, bringup))
    except DrillbookError:
        raise
    except Exception as exc:
        raise SandboxError(f"the {scenario.name} system could not be provisioned: {exc}") from exc
    assert ctx.sandbox is not None
    return ctx.sandbox


def temp_state_dir(system: str) -> Path:
    """A fresh temp dir's path for a sandbox (not yet made: its undo is journaled first)."""
    return Path(tempfile.gettempdir()) / f"drillbook-{system}-{uuid.uuid4().hex[:10]}"


@dataclass
class LocalBringUp:
    """What the local bring-up actions share."""

    scenario: Scenario
    evidence: Path
    time_factor: float
    state: Path = field(init=False)
    kube: LocalKubeProcess = field(init=False)
    proxy: ToxiproxyProcess = field(init=False)
    prometheus: PrometheusAction = field(default_factory=PrometheusAction)
    sandbox: KubeSandbox | None = None
    sandbox_type: type[KubeSandbox] = KubeSandbox
    identify: Callable[..., object] = record
    """Records the cluster's identity once it answers (:func:`~drillbook.platform.local.record.record`)."""
    run_dir: Path | None = None
    """The run's directory: where the first drill of a system leaves its PostgreSQL snapshot for the next ones."""
    offered: int = 0
    """How many snapshots this sandbox's PostgreSQL pods were offered (none: this drill takes one)."""

    def __post_init__(self) -> None:
        self.state = temp_state_dir(self.scenario.name)
        self.kube = LocalKubeProcess(
            state_dir=self.state / "kube",
            images=[IMAGES_FILE, self.scenario.images, self.state / _SNAPSHOT_IMAGES],
            time_factor=self.time_factor,
        )
        self.proxy = ToxiproxyProcess(log_file=self.evidence / "toxiproxy.log")

    @property
    def snapshots(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / "snapshots" / self.scenario.name


def local_actions(ctx: LocalBringUp, bringup: BringUp) -> list[Action]:
    """The local bring-up, in order: state dir → cluster → fault proxy → deploy → wait available → snapshot →
    metrics."""

    def make_state() -> Facts:
        ctx.state.mkdir(mode=0o755)
        os.chmod(ctx.state, 0o755)  # pod processes may run as other users (PostgreSQL refuses root)
        # For `drillbook cleanup` after a kill: the state dir at once, the cluster's identity once it answers.
        SandboxRecord(os.getpid(), str(ctx.state), str(ctx.kube.kubeconfig), "", "").write(ctx.evidence)
        if ctx.snapshots is not None:
            ctx.offered = offer_snapshots(ctx.snapshots, ctx.state / "pg-snapshots")
        _write_snapshot_images([IMAGES_FILE, ctx.scenario.images], ctx.state)
        return {"path": str(ctx.state)}

    def identify() -> None:
        ctx.identify(ctx.evidence, state_dir=ctx.state, kubeconfig=ctx.kube.kubeconfig, server=ctx.kube.url)

    def apply() -> None:
        ctx.sandbox = ctx.sandbox_type(
            scenario=ctx.scenario,
            platform=Platform.LOCAL,
            kube_env=ctx.kube.env(),
            workdir=ctx.evidence,
            access_factory=ClusterIPAccess,
            on_close=bringup.close,
            bringup=bringup,
            fault_proxy_url=ctx.proxy.url,
        )
        ctx.sandbox.apply()

    def release() -> None:
        if ctx.sandbox is not None:
            ctx.sandbox.release()

    def snapshot() -> None:
        if ctx.snapshots is not None:
            _snapshot(_up(ctx.sandbox), ctx.snapshots, ctx.evidence, ctx.offered)

    return [
        Action("state dir", make_state, lambda: remove_later(ctx.state),
               UndoSpec("remove-dir", f"remove {ctx.state}", {"path": str(ctx.state)})),
        cluster_action(ctx.kube, ctx.evidence, on_started=identify),
        fault_proxy_action(ctx.proxy),
        Action("deploy", apply, release),  # the objects go with the cluster
        Action("wait available", lambda: _up(ctx.sandbox).wait_available()),
        Action("snapshot", snapshot),
        metrics_action(ctx.prometheus, lambda: _up(ctx.sandbox), ctx.scenario, ctx.state, ctx.evidence),
    ]  # fmt: skip


def _up(sandbox: KubeSandbox | None) -> KubeSandbox:
    if sandbox is None:
        raise SandboxError("a bring-up action ran before the deploy action made the sandbox (drillbook's bug)")
    return sandbox


_removals: list[threading.Thread] = []


def remove_later(path: Path) -> None:
    """Delete ``path`` in a background thread the interpreter waits for at exit.

    It stays where it is while it goes, so ``drillbook cleanup`` still finds what a killed run left half-deleted.
    """
    thread = threading.Thread(target=shutil.rmtree, args=(path,), kwargs={"ignore_errors": True}, daemon=False)
    _removals[:] = [t for t in _removals if t.is_alive()]
    _removals.append(thread)
    thread.start()


def wait_for_removals() -> None:
    """Block until every state directory :func:`remove_later` is deleting is gone."""
    for thread in list(_removals):
        thread.join()


_SNAPSHOT_IMAGES = "snapshot-images.yaml"


def _write_snapshot_images(image_files: list[Path], state: Path) -> Path:
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
    path = state / _SNAPSHOT_IMAGES
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
