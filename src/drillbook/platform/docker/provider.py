"""The ``docker`` platform: localkube as the cluster, PostgreSQL and Redis as testcontainers containers.

Bring-up is the local sandbox's, with the datastores moved out of the cluster: named actions, each journaled with
its undo before it acts (:mod:`drillbook.platform.bringup`):

1. state dir: the sandbox's temp directory;
2. datastores: a ``PostgresContainer`` and a ``RedisContainer`` from drillbook's locally built images, published
   on 127.0.0.1 only and labelled with this sandbox's run label, started in the background. The label is journaled
   (and written to ``docker-sandbox.json``) *before* a container starts, so ``drillbook cleanup RUN_DIR`` removes
   them after a kill (:mod:`drillbook.platform.replay`, :mod:`drillbook.platform.docker.reap`);
3. cluster: localkube in the state directory, while the datastores start;
4. fault proxy: in front of every datastore, as on ``local``;
5. datastores ready: the background start awaited;
6. deploy: the scenario's manifests, each datastore Deployment a handle on its container. The datastore's
   ``-direct`` Service has no selector; its Endpoints are the container's loopback-published port. The
   datastore's own Service routes to the proxy, so the app and the runbook's commands use the same names as on
   ``local``::

       app, runbook psql ─► Service postgres ─► fault proxy ─► Service postgres-direct
                                                           └─► 127.0.0.1:<published> ─► container

7. wait available: until the scenario's Deployments are Available;
8. metrics: Prometheus, as on ``local`` (:mod:`drillbook.platform.prometheus`): it scrapes the app's pods, their
   container metrics and the datastores' exporters, which reach the containers through their Services.

Closing runs the undos in reverse, also on error, Ctrl-C and SIGTERM (the drill fixture closes the sandbox).
The datastore Deployments stay, as handles on the containers (:mod:`.handle`): scaling, restarting or deleting
their pods stops and starts the container, as it would the datastore's pod on ``local``.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import itertools
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from drillbook.drill.ports import Sandbox, SandboxFactory
from drillbook.errors import DatastoreError, DrillbookError, SandboxError
from drillbook.journal import Platform
from drillbook.platform.bringup import Action, BringUp, Facts, UndoSpec
from drillbook.platform.docker.datastores import (
    DatastoreContainer,
    remove_run_containers,
    start_postgres,
    start_redis,
)
from drillbook.platform.docker.engine import DockerEngine
from drillbook.platform.docker.images import IMAGES, image_exists
from drillbook.platform.docker.reap import RECORD
from drillbook.platform.fault_proxy import MANAGED_BY, Dependency, FaultProxyApi, fronted_manifests
from drillbook.platform.kube_sandbox import ClusterIPAccess, KubeSandbox
from drillbook.platform.local.actions import cluster_action, fault_proxy_action, metrics_action
from drillbook.platform.local.datastores import IMAGES_FILE
from drillbook.platform.local.kube.cluster import LocalKubeProcess
from drillbook.platform.local.sandbox import DEFAULT_TIME_FACTOR, temp_state_dir
from drillbook.platform.local.toxiproxy import ToxiproxyProcess
from drillbook.platform.prometheus import PrometheusAction
from drillbook.scenario import Scenario, load_scenario

JsonObj = dict[str, Any]
_counter = itertools.count(1)
STOP_TIMEOUT_S = 120.0
"""How long teardown waits for a datastore start still under way before removing by label."""


def provider(scenarios_dir: Path, run_dir: Path) -> SandboxFactory:
    """A factory that provisions a scenario on localkube with its datastores in Docker containers.

    A dockerd started here (none was running) is stopped when this process exits.

    Raises:
        SandboxError: no Docker engine answers, or drillbook's images are not built (says what to run).
    """
    engine = DockerEngine()
    if engine.ensure().started_now:
        # Started for this run: it ends with the run (the process exits after the reports are written), so a game
        # day leaves no dockerd behind. An engine that was already running is left alone.
        atexit.register(engine.stop_if_ours)
    missing = [spec.tag for spec in IMAGES.values() if not image_exists(spec.tag)]
    if missing:
        raise SandboxError(
            f"the docker platform needs drillbook's images; missing: {', '.join(missing)}. "
            "Hint: run 'drillbook images build' once (they are built locally, never pulled)."
        )

    def provision(system: str) -> Sandbox:
        return provision_docker(scenarios_dir / system, run_dir)

    return provision


def run_label(run_dir: Path, evidence: Path) -> str:
    """The label value every container of one sandbox carries: unique, and readable in ``docker ps``."""
    return f"{run_dir.name}.{evidence.name}.{uuid.uuid4().hex[:8]}"


def write_record(evidence: Path, label: str, containers: Sequence[str], temp_dirs: Sequence[Path]) -> None:
    """Record what ``drillbook cleanup`` must remove if this run is killed (rewritten as bring-up goes on)."""
    record = {"platform": "docker", "run_label": label, "containers": list(containers)}
    record["temp_dirs"] = [str(d) for d in temp_dirs]
    tmp = evidence / f"{RECORD}.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    tmp.replace(evidence / RECORD)


HANDLE_IMAGE = "drillbook/container-handle"
"""The image a datastore Deployment runs on ``docker``: a handle on its container (:mod:`.handle`)."""
HANDLE_IMAGES_FILE = "handle-images.yaml"


def handle_images(state: Path) -> Path:
    """localkube's image map entry for :data:`HANDLE_IMAGE`, written in the sandbox's state directory."""
    path = state / HANDLE_IMAGES_FILE
    entry = {"entrypoint": ["python", "-m", "drillbook.platform.docker.handle"], "cmd": [], "env": {}}
    path.write_text(yaml.safe_dump({"images": {HANDLE_IMAGE: entry}}, sort_keys=False), encoding="utf-8")
    return path


def datastore_manifests(
    docs: Sequence[JsonObj], scenario: Scenario, containers: Mapping[str, DatastoreContainer]
) -> list[JsonObj]:
    """The manifests with each datastore Deployment's pod turned into a handle on that datastore's container.

    The Deployment keeps its name, labels, replicas, ports and probes, so what a runbook does to it (scale, rollout
    restart, delete the pod) acts on the container (:mod:`.handle`). Its container runs :data:`HANDLE_IMAGE` with
    the container's id and published port; the user and security settings go (the handle runs the docker CLI).
    """
    datastores = {}
    if scenario.postgres is not None and "postgres" in containers:
        datastores[(scenario.postgres.namespace, scenario.postgres.deployment)] = ("postgres", scenario.postgres.port)
    if scenario.redis is not None and "redis" in containers:
        datastores[(scenario.redis.namespace, scenario.redis.deployment)] = ("redis", scenario.redis.port)
    out = []
    for original in docs:
        meta = original.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), meta.get("name"))
        doc = copy.deepcopy(original)
        if doc.get("kind") == "Deployment" and key in datastores:
            kind, port = datastores[key]
            _as_handle(doc, containers[kind], kind, port)
        out.append(doc)
    return out


def _as_handle(doc: JsonObj, container: DatastoreContainer, kind: str, port: int) -> None:
    pod = doc["spec"]["template"]["spec"]
    pod.pop("securityContext", None)
    pod.pop("initContainers", None)
    first = pod["containers"][0]
    for key in ("command", "args", "securityContext", "envFrom", "volumeMounts"):
        first.pop(key, None)
    pod.pop("volumes", None)
    first["image"] = HANDLE_IMAGE
    env: list[JsonObj] = [
        {"name": "DRILLBOOK_CONTAINER", "value": container.container_id},
        {"name": "DRILLBOOK_CONTAINER_PORT", "value": str(container.loopback_port)},
        {"name": "DRILLBOOK_LISTEN_PORT", "value": str(port)},
        {"name": "DRILLBOOK_HANDLE_OF", "value": kind},
    ]
    if kind == "postgres":  # `kubectl exec deploy/postgres -- psql` finds the server as in the image
        env += [
            {"name": "PGHOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "PGPORT", "value": str(port)},
        ]
    first["env"] = env
    pod["containers"] = [first]


def direct_to_containers(
    docs: Sequence[JsonObj], deps: Sequence[Dependency], upstreams: Mapping[str, tuple[str, int]]
) -> list[JsonObj]:
    """Each dependency's ``-direct`` Service made selector-less, with Endpoints at ``upstreams[dep.name]``.

    ``docs`` are :func:`~drillbook.platform.fault_proxy.fronted_manifests` or
    :func:`~drillbook.platform.fault_proxy.upstream_manifests` output (which give the ``-direct`` Services the
    datastore pods' selector); the rest is returned as is.
    """
    out = [copy.deepcopy(d) for d in docs]
    by_name = {(dep.namespace, dep.direct_service): dep for dep in deps}
    for doc in out:
        meta = doc.get("metadata") or {}
        key = (str(meta.get("namespace") or "default"), meta.get("name"))
        if doc.get("kind") == "Service" and key in by_name:
            doc["spec"].pop("selector", None)
    for dep in deps:
        host, port = upstreams[dep.name]
        direct = next(
            d
            for d in out
            if d.get("kind") == "Service"
            and d["metadata"]["name"] == dep.direct_service
            and d["metadata"]["namespace"] == dep.namespace
        )
        ports = direct["spec"].get("ports") or [{"port": dep.port}]
        first = next((p for p in ports if int(p.get("port", 0)) == dep.port), ports[0])
        endpoint_port: JsonObj = {"port": port, "protocol": first.get("protocol", "TCP")}
        if first.get("name"):
            endpoint_port["name"] = first["name"]
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": dep.direct_service, "namespace": dep.namespace, "labels": dict(MANAGED_BY)},
                "subsets": [{"addresses": [{"ip": host}], "ports": [endpoint_port]}],
            }
        )
    return out


def _container_env(docs: Sequence[JsonObj], namespace: str, deployment: str) -> dict[str, str]:
    """The plain ``value`` env of a Deployment's first container (secret references are the scenario's)."""
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc.get("kind") == "Deployment" and meta.get("name") == deployment:
            if str(meta.get("namespace") or "default") != namespace:
                continue
            containers = doc["spec"]["template"]["spec"].get("containers") or [{}]
            return {e["name"]: str(e["value"]) for e in containers[0].get("env") or [] if "value" in e}
    return {}


class ContainerSandbox(KubeSandbox):
    """A :class:`KubeSandbox` whose datastores are containers outside the cluster, behind the fault proxy."""

    def __init__(self, *, containers: Mapping[str, DatastoreContainer], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.containers = dict(containers)

    def _deploy_behind_fault_proxy(self, url: str, deps: list[Dependency]) -> None:
        path = self.scenario.manifests
        try:
            docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
        except (OSError, yaml.YAMLError) as exc:
            raise SandboxError(f"{path}: cannot read the manifests: {exc}") from exc
        docs = datastore_manifests(docs, self.scenario, self.containers)
        upstreams = {dep.name: ("127.0.0.1", self.containers[dep.name].loopback_port) for dep in deps}
        namespaces = [d for d in docs if d.get("kind") == "Namespace"]
        direct = [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": dep.direct_service, "namespace": dep.namespace, "labels": dict(MANAGED_BY)},
                "spec": {"ports": [{"name": dep.name, "port": dep.port, "protocol": "TCP"}]},
            }
            for dep in deps
        ]
        self._apply_documents(namespaces + direct_to_containers(direct, deps, upstreams), "upstream-services.yaml")
        api = FaultProxyApi(url)
        listen: dict[str, tuple[str, int]] = {}
        for dep in deps:
            upstream = self.access.address(dep.namespace, dep.direct_service, dep.port)
            listen[dep.name] = api.create(dep.name, upstream)
            self.proxied[dep.name] = dep
        applied = direct_to_containers(fronted_manifests(docs, deps, listen, path), deps, upstreams)
        self._apply_documents(applied, "manifests-as-applied.yaml")


def _create_app_role(pg: DatastoreContainer, scenario: Scenario) -> None:
    """The app's role as a non-superuser owning the database, when the scenario's admin is another role."""
    spec = scenario.postgres
    assert spec is not None
    if spec.user == spec.admin_user:
        return
    user, password = spec.user.replace('"', '""'), spec.password.replace("'", "''")
    sql = (
        f"CREATE ROLE \"{user}\" LOGIN NOSUPERUSER PASSWORD '{password}';"
        f'ALTER DATABASE "{spec.database.replace(chr(34), chr(34) * 2)}" OWNER TO "{user}";'
    )
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(pg.loopback_port), "-U", spec.admin_user, "-d", spec.database,
         "-v", "ON_ERROR_STOP=1", "-c", sql],
        env={"PGPASSWORD": spec.admin_password, "PATH": "/usr/lib/postgresql/15/bin:/usr/bin:/bin"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DatastoreError(f"could not create the app role {spec.user} in the container: {done.stderr.strip()}")


def _start_postgres(scenario: Scenario, label: str, docs: Sequence[JsonObj]) -> DatastoreContainer:
    spec = scenario.postgres
    assert spec is not None
    env = _container_env(docs, spec.namespace, spec.deployment)
    settings = {"max_connections": env["POSTGRES_MAX_CONNECTIONS"]} if "POSTGRES_MAX_CONNECTIONS" in env else {}
    pg = start_postgres(
        label, user=spec.admin_user, password=spec.admin_password, database=spec.database, settings=settings
    )
    try:
        _create_app_role(pg, scenario)
    except BaseException:
        pg.stop()
        raise
    return pg


def start_datastores(scenario: Scenario, label: str, docs: Sequence[JsonObj]) -> Future[dict[str, DatastoreContainer]]:
    """Start the scenario's datastores together, in the background (the cluster comes up meanwhile).

    Every container carries ``label``; the undo removes by that label (:func:`remove_labelled`), so a container
    whose start was cut short is removed too.
    """

    def start_all() -> dict[str, DatastoreContainer]:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="drillbook-datastore") as pool:
            jobs: dict[str, Future[DatastoreContainer]] = {}
            if scenario.postgres is not None:
                jobs["postgres"] = pool.submit(_start_postgres, scenario, label, docs)
            if scenario.redis is not None:
                jobs["redis"] = pool.submit(start_redis, label)
            return {name: job.result() for name, job in jobs.items()}

    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drillbook-datastores")
    started = background.submit(start_all)
    background.shutdown(wait=False)  # the start runs on; the thread ends with it
    return started


def remove_labelled(label: str, pending: Future[dict[str, DatastoreContainer]] | None) -> None:
    """Wait for a start still under way, then remove every container that carries the sandbox's label."""
    if pending is not None:
        with contextlib.suppress(BaseException):  # its failure is reported where it is awaited
            pending.result(timeout=STOP_TIMEOUT_S)
    try:
        remove_run_containers(label)
    except Exception as exc:
        raise DatastoreError(f"could not remove the containers labelled {label}: {exc}") from exc


def provision_docker(
    scenario_dir: Path,
    run_dir: Path,
    *,
    time_factor: float | None = None,
    after_action: Callable[[str], None] | None = None,
) -> KubeSandbox:
    """Start localkube and the datastore containers, deploy the scenario behind the fault proxy, wait for it."""
    scenario = load_scenario(scenario_dir)
    if time_factor is None:
        time_factor = float(os.environ.get("DRILLBOOK_TIME_FACTOR", DEFAULT_TIME_FACTOR))
    evidence = run_dir / "sandboxes" / f"{scenario.name}-docker-{next(_counter)}"
    evidence.mkdir(parents=True, exist_ok=True)
    ctx = DockerBringUp(
        scenario=scenario, evidence=evidence, label=run_label(run_dir, evidence), time_factor=time_factor
    )
    bringup = BringUp(evidence, platform=Platform.DOCKER.value, after_action=after_action)
    try:
        bringup.run_all(docker_actions(ctx, bringup))
    except DrillbookError:
        raise
    except Exception as exc:
        raise SandboxError(f"the {scenario.name} system could not be provisioned: {exc}") from exc
    assert ctx.sandbox is not None
    return ctx.sandbox


@dataclass
class DockerBringUp:
    """What the docker bring-up actions share."""

    scenario: Scenario
    evidence: Path
    label: str
    time_factor: float
    state: Path = field(init=False)
    kube: LocalKubeProcess = field(init=False)
    proxy: ToxiproxyProcess = field(init=False)
    pending: Future[dict[str, DatastoreContainer]] | None = None
    containers: dict[str, DatastoreContainer] = field(default_factory=dict)
    prometheus: PrometheusAction = field(default_factory=PrometheusAction)
    sandbox: ContainerSandbox | None = None
    sandbox_type: type[ContainerSandbox] = ContainerSandbox
    start: Callable[[Scenario, str, Sequence[JsonObj]], Future[dict[str, DatastoreContainer]]] = start_datastores
    """Starts the datastore containers in the background (:func:`start_datastores`)."""
    remove: Callable[[str, Future[dict[str, DatastoreContainer]] | None], None] = remove_labelled
    """Removes them by label (:func:`remove_labelled`)."""

    def __post_init__(self) -> None:
        self.state = temp_state_dir(self.scenario.name)
        self.kube = LocalKubeProcess(
            state_dir=self.state / "kube",
            images=[IMAGES_FILE, self.scenario.images, self.state / HANDLE_IMAGES_FILE],
            time_factor=self.time_factor,
        )
        self.proxy = ToxiproxyProcess(log_file=self.evidence / "toxiproxy.log")


def docker_actions(ctx: DockerBringUp, bringup: BringUp) -> list[Action]:
    """The docker bring-up, in order: state dir → datastores (in the background) → cluster → fault proxy →
    datastores ready → deploy → wait available → metrics."""

    def make_state() -> Facts:
        write_record(ctx.evidence, ctx.label, [], [ctx.state])  # recorded before it exists
        ctx.state.mkdir(mode=0o755)
        os.chmod(ctx.state, 0o755)
        handle_images(ctx.state)
        return {"path": str(ctx.state)}

    def start_containers() -> Facts:
        docs = [
            d for d in yaml.safe_load_all(ctx.scenario.manifests.read_text(encoding="utf-8")) if isinstance(d, dict)
        ]
        ctx.pending = ctx.start(ctx.scenario, ctx.label, docs)
        return {"label": ctx.label}

    def await_containers() -> Facts:
        if ctx.pending is None:
            raise SandboxError("the datastores were awaited before they were started (drillbook's bug)")
        ctx.containers = ctx.pending.result()
        ids = [c.container_id for c in ctx.containers.values()]
        write_record(ctx.evidence, ctx.label, ids, [ctx.state])
        return {"containers": ids}

    def apply() -> None:
        ctx.sandbox = ctx.sandbox_type(
            scenario=ctx.scenario,
            platform=Platform.DOCKER,
            kube_env=ctx.kube.env(),
            workdir=ctx.evidence,
            access_factory=ClusterIPAccess,
            on_close=bringup.close,
            bringup=bringup,
            fault_proxy_url=ctx.proxy.url,
            containers=ctx.containers,
        )
        ctx.sandbox.apply()  # deploy, then access: localkube's Services listen on loopback ClusterIPs

    def release() -> None:
        if ctx.sandbox is not None:
            ctx.sandbox.release()

    def sandbox() -> ContainerSandbox:
        if ctx.sandbox is None:
            raise SandboxError("a bring-up action ran before the deploy action made the sandbox (drillbook's bug)")
        return ctx.sandbox

    def wait_available() -> None:
        sandbox().wait_available()

    return [
        Action("state dir", make_state, lambda: shutil.rmtree(ctx.state, ignore_errors=True),
               UndoSpec("remove-dir", f"remove {ctx.state}", {"path": str(ctx.state)})),
        Action("datastores", start_containers, lambda: ctx.remove(ctx.label, ctx.pending),
               UndoSpec("remove-containers", f"remove the containers labelled {ctx.label}", {"label": ctx.label})),
        cluster_action(ctx.kube, ctx.evidence),
        fault_proxy_action(ctx.proxy),
        Action("datastores ready", await_containers),  # undone by "datastores"
        Action("deploy", apply, release),  # the objects go with the cluster
        Action("wait available", wait_available),
        metrics_action(ctx.prometheus, sandbox, ctx.scenario, ctx.state, ctx.evidence),
    ]  # fmt: skip
